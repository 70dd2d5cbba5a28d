import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registryChapter } from '../../examples/demo-registry.js';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { modelsLocalApi } from '../../src/cli/local/models.js';
import { createLocalApi } from '../../src/cli/local-api.js';
import { loadConfig } from '../../src/core/config.js';
import { tinyOnnxModel } from './registry-fixtures.js';

describe('the demo registry chapter', () => {
  let dir: string;
  let ws: Workspace;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-demo-registry-'));
    ws = await openWorkspace(loadConfig({ SEXTANT_HOME: dir }));
  });
  afterAll(async () => {
    await ws.webhooks.close();
    await ws.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const reviewerKind of ['a reviewer', 'no reviewer'] as const) {
    it(`runs end to end with ${reviewerKind}: blocked by a gate, approved, promoted, rolled back, audit OK`, async () => {
      const lines: string[] = [];
      const log = vi
        .spyOn(console, 'log')
        .mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
      try {
        const api = createLocalApi(ws);
        const onnxFile = path.join(dir, 'model.onnx');
        fs.writeFileSync(onnxFile, tinyOnnxModel());
        let reviewer: ReturnType<typeof modelsLocalApi> | undefined;
        if (reviewerKind === 'a reviewer') {
          await api.users.create({ name: 'demo-reviewer', role: 'approver' });
          reviewer = modelsLocalApi(ws, 'demo-reviewer');
        }
        const model = `demo-${reviewerKind.replace(' ', '-')}`;
        const out = await registryChapter(api, { onnxFile, model, ...(reviewer ? { reviewer } : {}) });
        expect(out).toEqual({ model, champion: 1, versions: [1, 2] });
        const text = lines.join('\n');
        expect(text).toMatch(/request prq_\w+ is BLOCKED/);
        expect(text).toMatch(/documentation: card.intended_use, card.limitations\s+FAIL/);
        expect(text).toMatch(/the requester approving it: refused - .*separation of duties/);
        if (reviewer) expect(text).toMatch(/demo-reviewer approves: request EXECUTED, champion -> 2/);
        else expect(text).toMatch(/relaxed to zero approvals/);
        expect(text).toMatch(/champion 2 -> 1 \(emergency rollback by local\)/);
        expect(text).toMatch(/which version was champion at .*\? 1/);
        expect(text).toMatch(/audit chain: OK/);
      } finally {
        log.mockRestore();
      }
    });
  }
});
