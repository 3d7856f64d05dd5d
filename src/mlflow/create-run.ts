/**
 * runs/create without duplicates. A create whose answer is lost (connection cut after the server
 * created the run, a timeout) would be retried and create a second run. So every create carries a
 * random client token as the tag `transferkit.client_token`, and before a retry the experiment is
 * searched for a run with that token: found, it is the answer and nothing is created again.
 */
import { randomUUID } from 'node:crypto';
import { MlflowUsageError } from './errors.js';
import type { MlflowHttp } from './http.js';
import * as s from './schemas.js';

export const CLIENT_TOKEN_TAG = 'transferkit.client_token';
const API = '/api/2.0/mlflow';

export interface CreateRunRequest {
  readonly experimentId: string;
  readonly runName?: string | undefined;
  readonly startTime: number;
  /** Already checked against the server's limits. */
  readonly tags: readonly { readonly key: string; readonly value: string }[];
  /** Default: a new random UUID. */
  readonly clientToken?: string | undefined;
}

/** The run of `experimentId` created with client token `token`, if any. */
export async function findRunByToken(http: MlflowHttp, experimentId: string, token: string): Promise<s.Run | undefined> {
  if (!/^[\w-]+$/.test(token)) throw new MlflowUsageError(`client token ${JSON.stringify(token)} must be letters, digits, _ and - (it goes into a search filter)`);
  const search = { experiment_ids: [experimentId], filter: `tags.\`${CLIENT_TOKEN_TAG}\` = '${token}'`, max_results: 1 };
  return (await http.json({ method: 'POST', path: `${API}/runs/search`, json: search }, s.searchRunsResponse)).runs[0];
}

export async function createRunOnce(http: MlflowHttp, request: CreateRunRequest): Promise<s.Run> {
  const token = request.clientToken ?? randomUUID();
  if (!/^[\w-]+$/.test(token)) throw new MlflowUsageError(`client token ${JSON.stringify(token)} must be letters, digits, _ and - (it goes into a search filter)`);
  const tags = [...request.tags.filter((t) => t.key !== CLIENT_TOKEN_TAG), { key: CLIENT_TOKEN_TAG, value: token }];
  const body = { experiment_id: request.experimentId, run_name: request.runName, start_time: request.startTime, tags };
  const alreadyCreated = async () => {
    const run = await findRunByToken(http, request.experimentId, token);
    return run === undefined ? undefined : { run };
  };
  return (await http.json({ method: 'POST', path: `${API}/runs/create`, json: body }, s.runResponse, alreadyCreated)).run;
}
