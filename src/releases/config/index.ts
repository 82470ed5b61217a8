export { applyHop } from './apply.js';
export { displayKnownValue, displayUnknownValue, isSecretKey, maskCredentials } from './display.js';
export { CONFIG_HOPS, hopLabel, hopsBetween } from './hops.js';
export { formatConfigChanges, summarizeConfigChanges } from './report.js';
export type { ConfigChange, ConfigChangeKind, DefaultRule, HopRules, KeyRule } from './types.js';
export { type ConfigUpgrade, type ConfigUpgradeInput, STAGING_SWITCH, upgradeConfig } from './upgrade.js';
