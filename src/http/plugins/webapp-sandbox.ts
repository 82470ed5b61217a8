/**
 * Tenant apps are served on the console's origin, so each of their pages is put in a sandbox without
 * `allow-same-origin`: its scripts run in an opaque origin and cannot read the console's storage, cookies
 * or API answers as a same-origin page could. Static files and node apps' answers alike carry it.
 */
export const WEBAPP_CSP = 'sandbox allow-scripts allow-forms allow-popups allow-downloads';
