/** TRANSFERKIT_TRACKING=off runs without MLflow (the pipeline alone); anything else tracks. A light module: cli.ts reads it before the heavy imports. */
export function trackingEnabled(env: Readonly<Record<string, string | undefined>>): boolean {
  return !['0', 'off', 'false', 'no'].includes((env['TRANSFERKIT_TRACKING'] ?? '').toLowerCase());
}
