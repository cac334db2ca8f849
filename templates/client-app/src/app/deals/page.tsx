'use client';

import { isCodexApiError, type Schemas } from '@codex-metatron/sdk';
import { type DragEvent, type FormEvent, type KeyboardEvent, useState } from 'react';
import { Button, Empty, ErrorNote, Field, PageTitle } from '@/components/ui';
import { api } from '@/lib/api';
import { fieldErrorsOf } from '@/lib/forms';
import useSWR from 'swr';

type Deal = Schemas['Deal'];
type Stage = Schemas['Stage'];

const money = (deal: Deal) => new Intl.NumberFormat(undefined, { style: 'currency', currency: deal.currency }).format(deal.valueMinor / 100);

/** The default pipeline and its deals, open ones and those closed in its won/lost stages. */
async function loadBoard() {
  const { items } = await api().get('/api/v1/crm/pipelines');
  const pipeline = items.find((candidate) => candidate.isDefault) ?? items[0];
  if (!pipeline) return { pipeline: undefined, deals: [] as Deal[] };
  const deals = await api().get('/api/v1/crm/deals', { params: { query: { pipelineId: pipeline.id, limit: 100 } } });
  return { pipeline, deals: deals.items };
}

export default function DealsPage() {
  // Not revalidated on focus: a move in flight must not be overtaken by an older read.
  const board = useSWR('board', loadBoard, { revalidateOnFocus: false });
  const [moveError, setMoveError] = useState<string>();
  const [announcement, setAnnouncement] = useState('');
  const [createError, setCreateError] = useState<unknown>();
  const fields = fieldErrorsOf(createError);
  const stages = [...(board.data?.pipeline?.stages ?? [])].sort((a, b) => a.position - b.position);

  /** Moves the card at once, then asks the platform; a refusal (409: changed elsewhere) puts it back. */
  async function move(deal: Deal, stage: Stage) {
    if (!board.data || deal.stageId === stage.id) return;
    const before = board.data;
    await board.mutate({ ...before, deals: before.deals.map((each) => (each.id === deal.id ? { ...each, stageId: stage.id } : each)) }, { revalidate: false });
    setMoveError(undefined);
    try {
      const moved = await api().post('/api/v1/crm/deals/{id}/move', {
        params: { path: { id: deal.id } },
        body: { stageId: stage.id, version: deal.version, ...(stage.kind === 'lost' ? { lostReason: 'Marked lost on the board' } : {}) },
      });
      await board.mutate({ ...before, deals: before.deals.map((each) => (each.id === deal.id ? moved : each)) }, { revalidate: false });
      setAnnouncement(`${deal.title} moved to ${stage.name}.`);
    } catch (error) {
      await board.mutate(before, { revalidate: false });
      setMoveError(
        isCodexApiError(error) && error.status === 409
          ? `${deal.title} was changed by someone else, so it stayed where it was. The board now shows the latest.`
          : `${deal.title} could not be moved: ${(error as Error).message}`,
      );
      if (isCodexApiError(error) && error.status === 409) await board.mutate();
    }
  }

  function onCardKey(event: KeyboardEvent<HTMLElement>, deal: Deal) {
    const index = stages.findIndex((stage) => stage.id === deal.stageId);
    const target = event.key === 'ArrowRight' ? stages[index + 1] : event.key === 'ArrowLeft' ? stages[index - 1] : undefined;
    if (!target) return;
    event.preventDefault();
    void move(deal, target).then(() => document.getElementById(`deal-${deal.id}`)?.focus());
  }

  function onDrop(event: DragEvent<HTMLElement>, stage: Stage) {
    event.preventDefault();
    const deal = board.data?.deals.find((each) => each.id === event.dataTransfer.getData('text/plain'));
    if (deal) void move(deal, stage);
  }

  async function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const first = stages[0];
    if (!board.data?.pipeline || !first) return;
    setCreateError(undefined);
    try {
      await api().post('/api/v1/crm/deals', {
        body: {
          title: String(data.get('title')),
          valueMinor: Math.round(Number(data.get('value') || 0) * 100),
          currency: 'EUR',
          pipelineId: board.data.pipeline.id,
          stageId: first.id,
        },
      });
      form.reset();
      await board.mutate();
    } catch (caught) {
      setCreateError(caught);
    }
  }

  return (
    <section>
      <PageTitle>Deals</PageTitle>
      <form onSubmit={create} aria-label="New deal" className="mb-6 flex flex-wrap items-end gap-2">
        <Field id="deal-title" name="title" label="Deal title" required error={fields.title} />
        <Field id="deal-value" name="value" type="number" min="0" step="0.01" label="Value (EUR)" error={fields.valueMinor} />
        <Button type="submit">Add deal</Button>
        <div className="basis-full">
          <ErrorNote error={Object.keys(fields).length ? undefined : createError} />
        </div>
      </form>
      <ErrorNote error={board.error ?? moveError} />
      <p aria-live="polite" className="sr-only" data-testid="board-announcement">
        {announcement}
      </p>
      {board.data && !board.data.pipeline ? <Empty>There is no pipeline yet.</Empty> : null}
      {board.data?.pipeline && board.data.deals.length === 0 ? (
        <Empty>No deals yet: add the first one above, then drag it (or use the arrow keys) through the stages.</Empty>
      ) : null}
      <p className="mb-2 text-sm text-gray-600 dark:text-gray-400" id="board-help">
        Drag a deal to another stage, or focus it and press ← or →.
      </p>
      <div className="grid auto-cols-[minmax(12rem,1fr)] grid-flow-col gap-3 overflow-x-auto pb-2">
        {stages.map((stage) => {
          const deals = board.data?.deals.filter((deal) => deal.stageId === stage.id) ?? [];
          return (
            <section
              key={stage.id}
              aria-label={stage.name}
              data-testid={`stage-${stage.name}`}
              onDragOver={(event) => event.preventDefault()}
              onDrop={(event) => onDrop(event, stage)}
              className="min-h-40 rounded-md border border-gray-200 bg-white p-2 dark:border-gray-800 dark:bg-gray-900"
            >
              <h2 className="mb-2 flex justify-between text-sm font-semibold">
                {stage.name} <span className="font-normal text-gray-500">{deals.length}</span>
              </h2>
              <ul className="flex flex-col gap-2">
                {deals.map((deal) => (
                  <li
                    key={deal.id}
                    id={`deal-${deal.id}`}
                    // biome-ignore lint/a11y/noNoninteractiveTabindex: a card is moved with the keyboard, so it takes focus
                    tabIndex={0}
                    draggable
                    aria-describedby="board-help"
                    aria-label={`${deal.title}, ${money(deal)}, in ${stage.name}`}
                    onDragStart={(event) => event.dataTransfer.setData('text/plain', deal.id)}
                    onKeyDown={(event) => onCardKey(event, deal)}
                    className="cursor-grab rounded border border-gray-200 bg-gray-50 p-2 text-sm focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 dark:border-gray-700 dark:bg-gray-800"
                  >
                    <span className="block font-medium">{deal.title}</span>
                    <span className="text-gray-600 dark:text-gray-400">{money(deal)}</span>
                  </li>
                ))}
              </ul>
            </section>
          );
        })}
      </div>
    </section>
  );
}
