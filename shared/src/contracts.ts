/**
 * Shapes that cross a service boundary over REST, defined once so the service
 * that answers and the one that asks cannot drift apart.
 */

/** A CRM contact as the CRM serves it (its API, and its internal export to the client service). */
export interface ContactView {
  id: string;
  clientId: string | null;
  /** The contact's id in the tenant's own systems; unique among live contacts, like the email. */
  externalId: string | null;
  firstName: string;
  lastName: string;
  email: string | null;
  phone: string | null;
  title: string | null;
  ownerId: string | null;
}
