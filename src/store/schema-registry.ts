/** Table types of the registry domain (filled in by that domain's work). */
// biome-ignore lint/suspicious/noEmptyInterface: the registry domain adds its tables here
export interface RegistryTables {}
