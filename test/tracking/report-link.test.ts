import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loggedArtifacts } from '../../src/tracking/report-link.js';
import { experimentRunsUrl, runPagePath, runPageUrl } from '../../src/tracking/ui-links.js';

describe('links and tags for MLflow', () => {
  it('opens the UI on model training (runs), not the GenAI overview', () => {
    assert.equal(experimentRunsUrl('http://h:5000/', '3'), 'http://h:5000/#/experiments/3/runs?workflowType=machine_learning');
    assert.equal(runPageUrl('http://h:5000', '3', 'ab'), 'http://h:5000/#/experiments/3/runs/ab?workflowType=machine_learning');
    assert.equal(runPagePath('3', 'ab', 'artifacts/report.html'), '#/experiments/3/runs/ab/artifacts/report.html?workflowType=machine_learning');
  });
  it('adds table entries to mlflow.loggedArtifacts once, keeping what is there', () => {
    const first = loggedArtifacts(undefined, ['evaluation/t.json']);
    assert.equal(first, '[{"path":"evaluation/t.json","type":"table"}]');
    const again = loggedArtifacts('[{"path": "other.json", "type": "table"}, {"path": "evaluation/t.json", "type": "table"}]', ['evaluation/t.json']);
    assert.deepEqual(JSON.parse(again), [{ path: 'other.json', type: 'table' }, { path: 'evaluation/t.json', type: 'table' }]);
    assert.equal(loggedArtifacts('not json', ['a.json']), '[{"path":"a.json","type":"table"}]');
  });
});
