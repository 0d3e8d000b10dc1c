/** First start (set the password with the one-time setup token) and logging in. */
import { h, replace, uid } from '../dom.js';

function reasonsList(err) {
  return err?.reasons?.length ? h('ul', { class: 'reasons' }, err.reasons.map((r) => h('li', null, r))) : null;
}

/** The server's refusal, read out by screen readers as it appears. */
function refusal(box, err) {
  const retry = err?.status === 429 && err.retryAfter ? ` Try again in ${err.retryAfter} s.` : '';
  // With reasons, the message repeats the first of them: a heading and the list say it once.
  const text = err?.reasons?.length ? 'The server refused this password:' : `${err?.message ?? String(err)}${retry}`;
  replace(box, h('div', { class: 'error', role: 'alert' }, h('p', null, text), reasonsList(err)));
}

export async function renderSetup({ source, main, auth, token, done }) {
  const tokenId = uid('token');
  const passwordId = uid('password');
  const confirmId = uid('confirm');
  const box = h('div', { class: 'form-result' });
  const form = h(
    'form',
    { class: 'stacked-form auth-form', id: 'setup-form' },
    h('div', { class: 'field' }, h('label', { for: tokenId }, 'Setup token'), h('input', { id: tokenId, name: 'token', value: token ?? '', required: true, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': `${tokenId}-help` })),
    h('p', { class: 'small muted', id: `${tokenId}-help` }, 'The one-time token printed in the log when the dashboard started.'),
    h('div', { class: 'field' }, h('label', { for: passwordId }, 'New password'), h('input', { id: passwordId, name: 'password', type: 'password', required: true, autocomplete: 'new-password', 'aria-describedby': `${passwordId}-rules` })),
    h('p', { class: 'small muted', id: `${passwordId}-rules` }, auth?.password_rules ?? ''),
    h('div', { class: 'field' }, h('label', { for: confirmId }, 'New password again'), h('input', { id: confirmId, name: 'confirm', type: 'password', required: true, autocomplete: 'new-password' })),
    h('button', { type: 'submit' }, 'Set the password'),
    box,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const password = String(data.get('password'));
    if (password !== String(data.get('confirm'))) {
      refusal(box, new Error('The two passwords differ.'));
      return;
    }
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      done(await source.setup(String(data.get('token')).trim(), password));
    } catch (err) {
      refusal(box, err);
    } finally {
      button.disabled = false;
    }
  });
  replace(
    main,
    h(
      'section',
      { class: 'auth-panel' },
      h('h1', null, 'Welcome to notcreepy'),
      h('p', null, 'This dashboard has no default password: choose one now. Anyone who can reach this page could otherwise see what every device on your network does.'),
      form,
    ),
  );
  (token ? form.querySelector('input[type="password"]') : form.querySelector('input'))?.focus();
}

export async function renderLogin({ source, main, done }) {
  const passwordId = uid('password');
  const box = h('div', { class: 'form-result' });
  const form = h(
    'form',
    { class: 'stacked-form auth-form', id: 'login-form' },
    h('div', { class: 'field' }, h('label', { for: passwordId }, 'Password'), h('input', { id: passwordId, name: 'password', type: 'password', required: true, autocomplete: 'current-password' })),
    h('button', { type: 'submit' }, 'Log in'),
    box,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      done(await source.login(String(new FormData(form).get('password'))));
    } catch (err) {
      refusal(box, err);
    } finally {
      button.disabled = false;
    }
  });
  replace(main, h('section', { class: 'auth-panel' }, h('h1', null, 'Log in'), h('p', null, 'Enter the dashboard password.'), form));
  form.querySelector('input')?.focus();
}
