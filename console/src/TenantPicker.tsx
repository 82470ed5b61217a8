import { api } from './api';
import { Select } from './components/Field';
import type { Tenant } from './types';
import { useLoad } from './useLoad';

/** The tenant the tenant-scoped pages act on; only the super tenant's admin may choose. */
export function TenantPicker({ value, onChange }: { value: string; onChange: (domain: string) => void }) {
  const tenants = useLoad(() => api<{ tenants: Tenant[] }>('GET', '/tenants'), []);
  const options = (tenants.data?.tenants ?? [{ domain: value, active: true }]).map((t) => ({
    value: t.domain,
    label: t.active ? t.domain : `${t.domain} (inactive)`,
  }));
  return <Select label="Tenant" value={value} onChange={onChange} options={options} />;
}
