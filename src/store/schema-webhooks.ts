/** Table types of the webhooks domain (filled in by that domain's work). */
// biome-ignore lint/suspicious/noEmptyInterface: the webhooks domain adds its tables here
export interface WebhookTables {}
