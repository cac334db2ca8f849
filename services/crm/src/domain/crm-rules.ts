/** The kinds of activity a CRM logs. */
export const ACTIVITY_TYPES = ['call', 'email', 'meeting', 'note', 'task'] as const;

/** A stage is where open deals wait, or where they are won or lost; a deal's status is its stage's kind. */
export const STAGE_KINDS = ['open', 'won', 'lost'] as const;
export type StageKind = (typeof STAGE_KINDS)[number];

/** The stages a tenant's first pipeline starts with. */
export const DEFAULT_STAGES: Array<{ name: string; kind: StageKind; probability: number }> = [
  { name: 'Lead', kind: 'open', probability: 10 },
  { name: 'Qualified', kind: 'open', probability: 25 },
  { name: 'Proposal', kind: 'open', probability: 50 },
  { name: 'Negotiation', kind: 'open', probability: 75 },
  { name: 'Won', kind: 'won', probability: 100 },
  { name: 'Lost', kind: 'lost', probability: 0 },
];

/** Where a move to a stage of `kind` leaves a deal: its status follows the kind; only a lost deal keeps a reason. */
export function dealStateIn(kind: StageKind, lostReason: string | null): { status: StageKind; lostReason: string | null } {
  return { status: kind, lostReason: kind === 'lost' ? lostReason : null };
}
