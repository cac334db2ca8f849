import Link from 'next/link';

export default function NotFound() {
  return (
    <section className="flex flex-col gap-2">
      <h1 className="text-xl font-semibold">Not found</h1>
      <p>There is nothing at this address.</p>
      <Link href="/clients">Go to your clients</Link>
    </section>
  );
}
