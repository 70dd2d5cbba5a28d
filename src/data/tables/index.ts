/** Tables inside dataset versions: reading, schema, profiles, comparison (placeholder). */
export {};
