import { ApiError } from '../api';

/** What went wrong, as the server said it (its code and message), or a success note. */
export function Notice({ error, success }: { error?: unknown; success?: string }) {
  if (error) {
    const text =
      error instanceof ApiError
        ? `${error.message} (${error.code})`
        : error instanceof Error
          ? error.message
          : String(error);
    return (
      <p className="notice error" role="alert">
        {text}
      </p>
    );
  }
  if (success) {
    return (
      <p className="notice success" role="status">
        {success}
      </p>
    );
  }
  return null;
}
