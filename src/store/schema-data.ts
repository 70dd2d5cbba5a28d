/** Table types of the data domain (filled in by that domain's work). */
// biome-ignore lint/suspicious/noEmptyInterface: the data domain adds its tables here
export interface DataTables {}
