import { runService } from '@codex/shared';
import { createApp } from './app';

void runService('auth', createApp);
