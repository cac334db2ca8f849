import pg from 'pg';
import { testServerUrl } from './database';

/** Any fixed number: the advisory lock's key on the test server. */
const MACHINE_TURN_LOCK = 7_391_202;

export interface MachineTurn {
  end(): Promise<void>;
}

/**
 * Suites that run the whole platform as processes (PM2, deploy, npm start)
 * take turns: each starts 7-14 processes and measures them under load, and
 * two at once on a 2-core box starve each other into 10-second stalls that
 * say nothing about the platform. An advisory lock on the test server orders
 * them across Jest workers; other suites run alongside as usual.
 */
export async function takeMachineTurn(): Promise<MachineTurn> {
  const holder = new pg.Client({ connectionString: testServerUrl() });
  await holder.connect();
  await holder.query('SELECT pg_advisory_lock($1)', [MACHINE_TURN_LOCK]);
  return {
    // Ending the session releases the lock.
    end: () => holder.end(),
  };
}
