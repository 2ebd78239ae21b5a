// Drives the dashboard in headless Chromium (Debian's /usr/bin/chromium)
// for a test: opens the page, then follows commands, one JSON object per
// line on stdin, answering each with one line on stdout:
//
//   {"wait": "<css selector>", "text": "...", "timeout_ms": 30000}
//        the first element matching the selector shows the text (its
//        textContent contains it) within the timeout: `ok`, or
//        `failed: <what the page showed>`;
//   {"shot": "<path>", "full": true}   saves a screenshot of the whole
//        page (`full`: false, of the viewport: an SVG document has no
//        page to measure);
//   {"click": "<css selector>"}   clicks the first element matching it;
//   {"open": "<url>"}    loads another page.
//
// The page's console errors go to stderr, so a failing test shows them.
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const [page_url] = process.argv.slice(2);
if (!page_url) {
  console.error('usage: node browser.mjs <page url>  (commands on stdin)');
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
// Connection errors while a test has the node stopped are expected noise.
const expected = /API-WS: disconnected|ERR_CONNECTION_REFUSED/;
page.on('console', (m) => {
  if (m.type() === 'error' && !expected.test(m.text())) console.error(`page: ${m.text()}`);
});
page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
await page.goto(page_url);
console.log('ready');

async function wait(timeout, selector, text) {
  const deadline = Date.now() + timeout;
  let seen = '(no element)';
  while (Date.now() < deadline) {
    seen = await page.evaluate((s) => document.querySelector(s)?.textContent ?? '(no element)', selector);
    if (seen.includes(text)) return 'ok';
    await new Promise((r) => setTimeout(r, 200));
  }
  return `failed: ${selector} shows ${JSON.stringify(seen.slice(0, 400))}, not ${JSON.stringify(text)}`;
}

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  try {
    const cmd = JSON.parse(line);
    if (cmd.wait) {
      console.log(await wait(cmd.timeout_ms ?? 30000, cmd.wait, cmd.text ?? ''));
    } else if (cmd.shot) {
      await page.screenshot({ path: cmd.shot, fullPage: cmd.full ?? true });
      console.log('ok');
    } else if (cmd.click) {
      await page.click(cmd.click, { timeout: 10000 });
      console.log('ok');
    } else if (cmd.open) {
      await page.goto(cmd.open);
      console.log('ok');
    } else {
      console.log(`failed: unknown command ${line}`);
    }
  } catch (e) {
    console.log(`failed: ${e.message.split('\n')[0]}`);
  }
}
await browser.close();
