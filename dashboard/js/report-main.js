/** A saved HTML report: the same pages, fed from the data written into the file. */
import { h } from './dom.js';
import { embeddedSource } from './source.js';
import { startApp } from './shell.js';
import { time } from './format.js';

const bundle = JSON.parse(document.getElementById('notcreepy-data').textContent);
const meta = bundle.meta ?? {};
startApp(embeddedSource(bundle), {
  live: false,
  editable: false,
  banner: h(
    'p',
    null,
    h('strong', null, 'Saved report'),
    ` written ${time(meta.generated_at)} by notcreepy ${meta.version ?? ''}`,
    meta.files?.length ? ` from ${meta.files.join(', ')}` : '',
    '. It works offline and loads nothing from anywhere.',
    meta.flows_note ? ` ${meta.flows_note}` : '',
  ),
  footer: 'A notcreepy report: everything in this file was computed from captured traffic, without sending anything anywhere.',
});
