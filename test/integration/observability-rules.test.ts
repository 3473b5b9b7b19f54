/**
 * The alert rules and the Grafana dashboard as shipped: `promtool check rules` and `promtool test
 * rules` (a unit test per alert) pass, the chart's copy of the rules is the plain rules file, and the
 * dashboard's queries use only metrics that exist and the job selector variable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createPsMetrics } from '@distrain/core/ps';
import {
  createCoordinatorMetrics,
  createEvaluatorMetrics,
  createLoaderMetrics,
  createRoleRegistry,
  createTrainerMetrics,
} from '@distrain/core/metrics';
import { ROOT } from '../support/cli.ts';

const RULES = join(ROOT, 'deploy/prometheus/rules.yaml');
const RULE_TESTS = join(ROOT, 'deploy/prometheus/rules.test.yaml');
const CHART_RULES = join(ROOT, 'charts/distrain/files/rules/distrain-alerts.yaml');
const DASHBOARD = join(ROOT, 'charts/distrain/files/dashboards/distrain.json');

function promtool(args: string[]): { status: number | null; output: string } {
  const res = spawnSync('promtool', args, { encoding: 'utf8', cwd: ROOT });
  if (res.error) throw new Error(`promtool is required (apt-get install prometheus): ${res.error.message}`);
  return { status: res.status, output: `${res.stdout}${res.stderr}` };
}

test('promtool check rules accepts the rules file and the chart copy', () => {
  for (const file of [RULES, CHART_RULES]) {
    const res = promtool(['check', 'rules', file]);
    assert.equal(res.status, 0, res.output);
    assert.match(res.output, /SUCCESS: 4 rules found/);
  }
});

test('promtool test rules: every alert has a unit test and they pass', () => {
  const res = promtool(['test', 'rules', RULE_TESTS]);
  assert.equal(res.status, 0, res.output);
  const rules = parse(readFileSync(RULES, 'utf8')) as { groups: { rules: { alert?: string }[] }[] };
  const alerts = rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
  assert.deepEqual(alerts.sort(), [
    'DistrainJobNoProgress',
    'DistrainTestAccuracyDropped',
    'DistrainTrainerRestarts',
    'DistrainTrainingLossNaN',
  ]);
  const tests = parse(readFileSync(RULE_TESTS, 'utf8')) as {
    tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
  };
  const covered = new Set(
    tests.tests.flatMap((t) =>
      t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname),
    ),
  );
  for (const alert of alerts) assert.ok(covered.has(alert), `${alert} has a test where it fires`);
});

test('the chart ships the same rules as the plain rules file', () => {
  assert.equal(readFileSync(CHART_RULES, 'utf8'), readFileSync(RULES, 'utf8'));
});

/** Every metric name the roles declare (histograms also as _bucket/_sum/_count). */
async function declaredMetrics(): Promise<Set<string>> {
  const registry = createRoleRegistry();
  createTrainerMetrics(registry, { jobId: 'x', rank: 0 });
  createEvaluatorMetrics(registry, { jobId: 'x' });
  createLoaderMetrics(registry, { streams: () => 0, queuedBatches: () => 0 });
  createPsMetrics(registry, 0);
  createCoordinatorMetrics(registry, () => ({
    pending: 0,
    running: 0,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
  }));
  const names = new Set<string>();
  for (const m of await registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram')
      for (const s of ['_bucket', '_sum', '_count']) names.add(`${m.name}${s}`);
  }
  return names;
}

test('the dashboard and the rules use only metrics the services declare', async () => {
  const declared = await declaredMetrics();
  const used =
    `${readFileSync(DASHBOARD, 'utf8')}\n${readFileSync(RULES, 'utf8')}`.match(/\bdistrain_[a-z_]+/g) ?? [];
  const unknown = [...new Set(used)].filter((n) => !declared.has(n));
  assert.deepEqual(unknown, []);
});

test('the dashboard: job selector, every required panel, every query filtered by the job', () => {
  const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    uid: string;
    templating: { list: { name: string; type: string }[] };
    panels: { id: number; title: string; targets: { expr: string }[] }[];
  };
  assert.ok(d.uid);
  assert.ok(d.templating.list.some((v) => v.name === 'job_id' && v.type === 'query'));
  const titles = d.panels.map((p) => p.title.toLowerCase()).join('\n');
  for (const want of [
    'loss',
    'test accuracy',
    'samples/s per trainer',
    'p50 / p99',
    'data vs parameter server',
    'aggregation',
    'data-loader throughput',
    'jobs by state',
  ]) {
    assert.ok(titles.includes(want), `a panel for ${want}`);
  }
  assert.equal(new Set(d.panels.map((p) => p.id)).size, d.panels.length, 'panel ids are unique');
  for (const p of d.panels) {
    assert.ok(p.targets.length > 0, p.title);
    for (const t of p.targets) {
      if (!t.expr.startsWith('sum by (state) (distrain_coordinator_jobs)'))
        assert.match(t.expr, /job_id=~"\$job_id"/, `${p.title} filters by the job`);
    }
  }
});
