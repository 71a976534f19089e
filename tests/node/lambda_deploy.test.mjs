// deploy/: the SAM template and the Step Functions state machine parse, say
// what the README promises (runtime, recursion, concurrency, async retries
// and on-failure destination, Distributed Map settings), reference only
// things that exist, and set only settings the binary knows. Their IAM
// policy is checked against real requests in lambda_chain.test.mjs, their
// Distributed Map is run in lambda_keys.test.mjs.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

import { BIN, SOURCE, cleanEnv, loadTemplate } from './lambda_helpers.mjs';

const t = loadTemplate();
const asl = fs.readFileSync(path.join(SOURCE, 'deploy', 'statemachine.asl.json'), 'utf8');
const fnProps = t.Resources.EtlFunction.Properties;
const sm = t.Resources.DistributedMap.Properties;

// Every Ref / GetAtt / Sub reference in a node.
function refs(node, out = []) {
  if (Array.isArray(node)) node.forEach((n) => refs(n, out));
  else if (node && typeof node === 'object') {
    if ('Ref' in node) out.push(node.Ref);
    if ('Fn::GetAtt' in node) out.push(node['Fn::GetAtt'][0]);
    if ('Fn::Sub' in node) for (const m of String(node['Fn::Sub']).matchAll(/\$\{([^}!]+)\}/g)) out.push(m[1].split('.')[0]);
    for (const v of Object.values(node)) refs(v, out);
  }
  return out;
}

describe('deploy/template.yaml', () => {
  test('is a SAM template whose references all resolve', () => {
    assert.equal(t.AWSTemplateFormatVersion, '2010-09-09');
    assert.equal(t.Transform, 'AWS::Serverless-2016-10-31');
    const known = new Set([...Object.keys(t.Parameters), ...Object.keys(t.Resources), 'AWS::Region', 'AWS::AccountId', 'AWS::StackName', 'AWS::NoValue', 'AWS::Partition']);
    const unknown = refs(t.Resources).concat(refs(t.Outputs)).filter((r) => !known.has(r));
    assert.deepEqual([...new Set(unknown)], []);
    for (const c of refs(t.Resources).filter((r) => r in t.Parameters)) assert.ok(t.Parameters[c].Type, c);
    // Every parameter is used.
    const used = new Set(refs(t.Resources));
    assert.deepEqual(Object.keys(t.Parameters).filter((p) => !used.has(p) && !JSON.stringify(t.Conditions).includes(p)), []);
  });

  test('the function: provided.al2023 x86_64 bootstrap from make lambda-package', () => {
    assert.equal(fnProps.Runtime, 'provided.al2023');
    assert.deepEqual(fnProps.Architectures, ['x86_64']);
    assert.equal(fnProps.Handler, 'bootstrap');
    assert.equal(fnProps.CodeUri, '../dist/function.zip');
    assert.deepEqual(fnProps.Timeout, { Ref: 'Timeout' });
    assert.ok(t.Parameters.Timeout.MaxValue <= 900);
  });

  test('recursion, concurrency, async retries and the on-failure destination are set', () => {
    assert.equal(fnProps.RecursiveLoop, 'Allow');
    assert.deepEqual(fnProps.ReservedConcurrentExecutions, { Ref: 'ReservedConcurrency' });
    const eic = fnProps.EventInvokeConfig;
    assert.ok(eic.MaximumRetryAttempts >= 0 && eic.MaximumRetryAttempts <= 2);
    assert.ok(eic.MaximumEventAgeInSeconds >= 60 && eic.MaximumEventAgeInSeconds <= 21600);
    assert.equal(eic.DestinationConfig.OnFailure.Type, 'SQS');
    assert.deepEqual(eic.DestinationConfig.OnFailure.Destination, { 'Fn::GetAtt': ['FailedInvocations', 'Arn'] });
    assert.equal(t.Resources.FailedInvocations.Type, 'AWS::SQS::Queue');
    assert.deepEqual(fnProps.LoggingConfig.LogFormat, 'JSON');
  });

  test('the environment sets only settings bpecg-etl knows, with valid defaults', () => {
    const table = execFileSync(BIN, ['settings', '--markdown'], { encoding: 'utf8', env: cleanEnv() });
    const storeVars = ['S3_SSE', 'S3_SSE_KMS_KEY_ID'];
    const vars = Object.keys(fnProps.Environment.Variables);
    for (const v of vars) assert.ok(storeVars.includes(v) || table.includes(`| \`${v}\` |`), `${v} is not a setting`);
    for (const v of ['SOURCE_BUCKET', 'DEST_BUCKET', 'PDF_PREFIX', 'BATCH_SIZE', 'DEADLINE_MARGIN_MS', 'MAX_CHAIN_BATCHES']) assert.ok(vars.includes(v), v);
    // With the parameters' defaults, the binary starts and answers an
    // (empty) batch: every value passes its checks.
    const dir = fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'bpecg-deploy-'));
    try {
      const env = { ...cleanEnv(), LOG_LEVEL: 'warn' };
      for (const [v, val] of Object.entries(fnProps.Environment.Variables)) {
        const p = val?.Ref && t.Parameters[val.Ref];
        if (p && p.Default !== undefined && p.Default !== '') env[v] = String(p.Default);
      }
      assert.equal(env.BATCH_SIZE, '100');
      env.SOURCE_BUCKET = path.join(dir, 'src');
      env.DEST_BUCKET = path.join(dir, 'dst');
      fs.mkdirSync(env.SOURCE_BUCKET);
      const r = spawnSync(BIN, ['invoke', '--event', '{"Items": []}'], { encoding: 'utf8', env });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).pdfs, 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the state machine gets its function, bucket and batch settings by substitution', () => {
    assert.equal(sm.DefinitionUri, 'statemachine.asl.json');
    const placeholders = new Set([...asl.matchAll(/\$\{([A-Za-z0-9]+)\}/g)].map((m) => m[1]));
    assert.deepEqual([...placeholders].sort(), Object.keys(sm.DefinitionSubstitutions).sort());
    assert.deepEqual(sm.DefinitionSubstitutions.EtlFunctionArn, { 'Fn::GetAtt': ['EtlFunction', 'Arn'] });
    assert.deepEqual(sm.DefinitionSubstitutions.BatchSize, { Ref: 'BatchSize' });
  });
});

describe('deploy/statemachine.asl.json', () => {
  const doc = JSON.parse(asl);
  const map = doc.States.ProcessPdfs;
  const task = map.ItemProcessor.States[map.ItemProcessor.StartAt];

  test('is JSON with a Distributed Map over an S3 listing', () => {
    assert.equal(doc.States[doc.StartAt].Next, 'ProcessPdfs');
    assert.equal(map.Type, 'Map');
    assert.equal(map.ItemProcessor.ProcessorConfig.Mode, 'DISTRIBUTED');
    assert.equal(map.ItemReader.Resource, 'arn:aws:states:::s3:listObjectsV2');
    assert.deepEqual(map.ItemReader.Parameters, { Bucket: '${SourceBucket}', Prefix: '${PdfPrefix}' });
    assert.equal(map.End, true);
  });

  test('batches BATCH_SIZE items, bounds concurrency and failures, writes results to S3', () => {
    assert.equal(map.ItemBatcher.MaxItemsPerBatchPath, '$.settings.batch_size');
    assert.equal(doc.States.Settings.Parameters['batch_size.$'], "States.StringToJson('${BatchSize}')");
    assert.equal(map.MaxConcurrencyPath, '$.settings.max_concurrency');
    assert.equal(map.ToleratedFailurePercentagePath, '$.settings.tolerated_failure_percentage');
    assert.deepEqual(map.ItemSelector, { 'Key.$': '$$.Map.Item.Value.Key', 'Index.$': '$$.Map.Item.Index' });
    assert.equal(map.ResultWriter.Resource, 'arn:aws:states:::s3:putObject');
    assert.deepEqual(map.ResultWriter.Parameters, { Bucket: '${ResultsBucket}', Prefix: '${ResultsPrefix}' });
  });

  test('invokes the function with the batch and retries what a retry can fix', () => {
    assert.equal(task.Resource, 'arn:aws:states:::lambda:invoke');
    assert.deepEqual(task.Parameters, { FunctionName: '${EtlFunctionArn}', 'Payload.$': '$' });
    const retried = task.Retry.flatMap((r) => r.ErrorEquals);
    for (const e of ['BatchIncomplete', 'BatchFailed', 'Lambda.TooManyRequestsException', 'Sandbox.Timedout']) assert.ok(retried.includes(e), e);
    // A malformed batch will not get better.
    assert.ok(!retried.includes('InvalidEvent') && !retried.includes('States.ALL'));
    for (const r of task.Retry) assert.ok(r.MaxAttempts >= 1 && r.IntervalSeconds >= 1 && r.BackoffRate >= 1);
  });
});
