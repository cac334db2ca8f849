import type { ServiceDeps, ServiceName } from '@codex/shared';
import type { Express } from 'express';
import { createApp as gateway } from '../../gateway/src';
import { createApp as admin } from '../../services/admin/src';
import { createApp as auth } from '../../services/auth/src';
import { createApp as billing } from '../../services/billing/src';
import { createApp as client } from '../../services/client/src';
import { createApp as crm } from '../../services/crm/src';
import { createApp as subscription } from '../../services/subscription/src';

const APPS: { [S in ServiceName]: (deps: ServiceDeps<S>) => Express } = { gateway: (deps) => gateway(deps), auth, billing, subscription, crm, client, admin };

/** The app factory of `service`, typed for its own deps (TypeScript cannot relate APPS[S] to S by itself). */
export const appOf = <S extends ServiceName>(service: S) => APPS[service] as (deps: ServiceDeps<S>) => Express;
