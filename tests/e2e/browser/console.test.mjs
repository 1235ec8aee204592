// The review console in a real headless browser (Debian's chromium driven by playwright-core),
// keyboard only: sign in, meet a task another reviewer holds, claim one, correct an item, add a
// missed one (found with /), submit, and see the task leave the queue. Run by tests/e2e/test_console_e2e.py,
// which starts the gRPC server and the console and passes their addresses in the environment.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

const { CONSOLE_URL, REVIEWER_TOKEN, TASK_NAME, HELD_TASK_NAME, MISSED_TEXT, CONSOLE_SCREENSHOT } = process.env;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// Debian's chromium, never a downloaded browser; nothing reaches the network but the console.
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let profile;
let context;
let page;
const pageErrors = [];

before(async () => {
  for (const name of ['CONSOLE_URL', 'REVIEWER_TOKEN', 'TASK_NAME', 'HELD_TASK_NAME', 'MISSED_TEXT']) {
    assert.ok(process.env[name], `${name} is not set`);
  }
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'healthai-console-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1400, height: 900 },
  });
  page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(15000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    // A 409 page is a page the test expects; only script errors count here.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      pageErrors.push(message.text());
    }
  });
});

after(async () => {
  await context?.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

const press = async (...keys) => {
  for (const key of keys) await page.keyboard.press(key);
};

const rowIndex = async (name) =>
  page.evaluate((wanted) => Array.from(document.querySelectorAll('[data-row]')).findIndex((row) => row.dataset.task === wanted), name);

test('sign in with the reviewer token, typed into the focused field', async () => {
  const response = await page.goto(CONSOLE_URL);
  assert.equal(new URL(page.url()).pathname, '/login');
  const csp = response.headers()['content-security-policy'];
  assert.match(csp, /script-src 'self'/);
  await page.keyboard.type(REVIEWER_TOKEN);
  await Promise.all([page.waitForURL(`${CONSOLE_URL}/`), press('Enter')]);
  const html = await page.content();
  assert.ok(!html.includes(REVIEWER_TOKEN), 'the token must never be in a page');
  assert.ok(!page.url().includes(REVIEWER_TOKEN));
  assert.ok((await rowIndex(TASK_NAME)) >= 0, 'the task is in the queue');
});

test('f goes to the filters, arrows choose, Enter applies them', async () => {
  await press('f');
  await press('ArrowDown', 'ArrowDown'); // any -> condition -> medication
  await Promise.all([page.waitForURL(/[?&]type=medication/), press('Enter')]);
  assert.ok((await rowIndex(TASK_NAME)) >= 0, 'the task has a medication');
  await press('Escape'); // leave the select: the queue's keys apply again
});

test('? shows the keys, and Escape closes the help', async () => {
  await press('?');
  assert.equal(await page.locator('#help').evaluate((dialog) => dialog.open), true);
  await press('Escape');
  assert.equal(await page.locator('#help').evaluate((dialog) => dialog.open), false);
});

test('a task another reviewer holds: a clear message, and q goes back', async () => {
  const held = await rowIndex(HELD_TASK_NAME);
  assert.ok(held >= 0);
  for (let i = 0; i < held; i += 1) await press('j');
  await Promise.all([page.waitForLoadState('load'), page.waitForURL(/\/claim$/), press('Enter')]);
  await page.getByText('Another reviewer has claimed this task').waitFor();
  await Promise.all([page.waitForURL(`${CONSOLE_URL}/`), press('q')]);
});

test('claim, correct an item, add a missed one and submit, all by keyboard', async () => {
  const index = await rowIndex(TASK_NAME);
  for (let i = 0; i < index; i += 1) await press('j');
  await Promise.all([page.waitForURL(new RegExp(`/${TASK_NAME}$`)), press('Enter')]);
  await page.locator('#note').waitFor();
  assert.match(await page.locator('#lease').textContent(), /claim ends in/);

  // The first flagged item is current; move to the medication and correct its dose.
  const medication = await page.evaluate(() =>
    Array.from(document.querySelectorAll('#items > .item')).findIndex((item) => item.dataset.key.startsWith('medication/')),
  );
  assert.ok(medication >= 0, 'the extraction found the medication');
  for (let i = 0; i < medication; i += 1) await press('j');
  await press('c');
  const dose = page.locator(`#item-${medication} [name="item-${medication}-field-dose.value"]`);
  await page.waitForFunction(() => document.activeElement?.name?.endsWith('-field-name'));
  await press('Tab'); // from the name to the dose
  assert.equal(await dose.evaluate((input) => input === document.activeElement), true);
  await press('Control+A');
  await page.keyboard.type('850');
  await press('Enter');
  assert.equal(await page.locator(`#item-${medication}`).getAttribute('data-decision'), 'correct');

  // Reject the current (next undecided) item, then accept the rest.
  const rejected = await page.locator('#items > .item.current').getAttribute('data-item');
  await press('r');
  assert.equal(await page.locator(`#item-${rejected}`).getAttribute('data-decision'), 'reject');

  // Enter with flagged items undecided does not submit: it says what is missing.
  await press('Enter');
  await page.getByText(/have no decision yet/).waitFor();
  await press('A');

  // A missed item, keyboard only: / finds its text in the note and selects it, then +.
  await press('/');
  await page.keyboard.type(MISSED_TEXT);
  await press('Enter');
  assert.equal(await page.evaluate(() => getSelection().toString()), MISSED_TEXT);
  await press('+');
  const added = page.locator('[data-added="0"]');
  assert.equal(await added.locator('[data-add-text]').textContent(), MISSED_TEXT);
  await press('ArrowDown'); // the focused type select: condition
  await press('Tab');
  await page.keyboard.type(MISSED_TEXT);
  await press('Enter');
  assert.equal(await page.locator('[name="add-0-type"]').inputValue(), 'condition');

  if (CONSOLE_SCREENSHOT) {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: CONSOLE_SCREENSHOT });
  }
  await Promise.all([page.waitForURL(`${CONSOLE_URL}/`), press('Enter')]);
  await page.getByText(/submitted: \d+ accepted, 1 corrected, 1 rejected, 1 added/).waitFor();
  assert.equal(await rowIndex(TASK_NAME), -1, 'the task left the queue');
});

test('no script errors on any page', () => {
  assert.deepEqual(pageErrors, []);
});
