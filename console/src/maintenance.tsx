import {
  type ButtonHTMLAttributes,
  createContext,
  type ReactNode,
  useContext,
  useEffect,
  useState,
} from 'react';
import { onMaintenance } from './api';

/** Whether the server refuses writes for maintenance, and what it says about it. */
export interface Maintenance {
  on: boolean;
  message: string;
}

const OFF: Maintenance = { on: false, message: '' };
const MaintenanceContext = createContext<Maintenance>(OFF);
/** How often the console asks; a refused write (503 MAINTENANCE) tells it at once. */
const POLL_MS = 5_000;

export const useMaintenance = () => useContext(MaintenanceContext);

/**
 * Asks `/readyz`, which anyone may read (a tenant's admin may not read `/api/v1/maintenance`), whether the
 * server is in maintenance, every few seconds while the console is open.
 */
export function MaintenanceProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<Maintenance>(OFF);
  useEffect(() => {
    let stopped = false;
    const ask = async () => {
      try {
        const response = await fetch('/readyz', { headers: { accept: 'application/json' } });
        const body = (await response.json()) as { maintenance?: boolean; maintenanceMessage?: string };
        if (!stopped) setState({ on: body.maintenance === true, message: body.maintenanceMessage ?? '' });
      } catch {
        // The next poll tries again; a console that cannot reach the server shows its own errors.
      }
    };
    void ask();
    const timer = setInterval(() => void ask(), POLL_MS);
    onMaintenance((message) => setState({ on: true, message }));
    return () => {
      stopped = true;
      clearInterval(timer);
      onMaintenance(undefined);
    };
  }, []);
  return <MaintenanceContext.Provider value={state}>{children}</MaintenanceContext.Provider>;
}

export function MaintenanceBanner() {
  const { on, message } = useMaintenance();
  if (!on) return null;
  return (
    <p className="maintenance-banner" role="status">
      <strong>Maintenance.</strong> {message} Changes are disabled until it ends; reading works.
    </p>
  );
}

/** A button that changes something: disabled while the server refuses writes. */
export function WriteButton(props: ButtonHTMLAttributes<HTMLButtonElement>) {
  const { on } = useMaintenance();
  return (
    <button
      {...props}
      disabled={on || props.disabled}
      title={on ? 'Disabled during maintenance' : props.title}
    />
  );
}
