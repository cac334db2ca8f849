import { isCodexApiError } from '@codex-metatron/sdk';
import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { platformClient } from '@/lib/platform';

interface Params {
  params: Promise<{ type: string; slug: string }>;
}

/** Published content through the public content route: the API key alone, rendered on the server. */
async function published({ params }: Params) {
  const { type, slug } = await params;
  try {
    return await platformClient().get('/api/v1/client/public/content/{type}/{slug}', { params: { path: { type, slug } } });
  } catch (error) {
    if (isCodexApiError(error) && (error.status === 404 || error.status === 400)) notFound();
    throw error;
  }
}

export async function generateMetadata(props: Params): Promise<Metadata> {
  return { title: (await published(props)).title };
}

export default async function ContentPage(props: Params) {
  const entry = await published(props);
  return (
    <article className="prose max-w-2xl dark:prose-invert">
      <h1 className="text-2xl font-semibold">{entry.title}</h1>
      <p className="text-sm text-gray-600 dark:text-gray-400">Published {new Date(entry.publishedAt).toLocaleDateString()}</p>
      {entry.bodyFormat === 'markdown' ? (
        <div className="mt-4 whitespace-pre-wrap">{String(entry.body)}</div>
      ) : (
        <pre className="mt-4 overflow-x-auto text-sm">{JSON.stringify(entry.body, null, 2)}</pre>
      )}
    </article>
  );
}
