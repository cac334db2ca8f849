/// <reference lib="dom" />
import { existsSync } from 'node:fs';
import axe from 'axe-core';
import type { Locator, Page } from 'playwright-core';

// CI installs Debian's chromium and sets REQUIRE_BROWSER=1, so there the browser suites cannot silently vanish.
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const browserAvailable = existsSync(CHROMIUM);
if (!browserAvailable && process.env.REQUIRE_BROWSER === '1') throw new Error(`REQUIRE_BROWSER=1 but there is no browser at ${CHROMIUM}`);
export const describeWithBrowser = browserAvailable ? describe : describe.skip;
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-dev-shm-usage'];

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/** axe-core run in the page itself: the serious and critical violations only. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ content: axe.source });
  const result = await page.evaluate(() => (window as unknown as { axe: typeof axe }).axe.run(document, { resultTypes: ['violations'] }));
  return (result.violations as AxeViolation[]).filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
}

/** Waits until the first element of `locator` reads `expected` (whole text, or matching). */
export async function expectText(locator: Locator, expected: string | RegExp, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout;
  let last = '';
  while (Date.now() < deadline) {
    last = (
      (await locator
        .first()
        .textContent({ timeout: Math.max(deadline - Date.now(), 1) })
        .catch(() => '')) ?? ''
    ).trim();
    if (typeof expected === 'string' ? last === expected : expected.test(last)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`expected ${String(expected)} within ${timeout} ms; last seen: ${JSON.stringify(last)}`);
}

/** The page's load: navigation start to load event, and the JavaScript it fetched. */
export function loadTiming(page: Page) {
  return page.evaluate(() => {
    const navigation = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
    const scripts = (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).filter((entry) => entry.initiatorType === 'script');
    return {
      loadMs: Math.round(navigation.loadEventEnd - navigation.startTime),
      jsBytesTransferred: scripts.reduce((sum, entry) => sum + entry.transferSize, 0),
      jsBytesDecoded: scripts.reduce((sum, entry) => sum + entry.decodedBodySize, 0),
      scripts: scripts.length,
    };
  });
}
