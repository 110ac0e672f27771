// The authentication methods by name, as routes (`auth: [...]`), logs (`authMethod`), metrics
// and errors spell them. At the bottom of the import graph, so that every floor can name them.
export const AUTH_METHODS = ['jwt', 'basic', 'session', 'mtls'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];
