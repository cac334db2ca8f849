/** What a client can be, and the orders a client list can be sorted in. */
export const CLIENT_STATUSES = ['lead', 'active', 'inactive'] as const;
export const CLIENT_KINDS = ['company', 'person'] as const;
export const CLIENT_SORTS = ['-createdAt', 'createdAt', 'name', '-name'] as const;
export type ClientSort = (typeof CLIENT_SORTS)[number];
