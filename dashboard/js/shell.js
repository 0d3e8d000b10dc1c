/**
 * The single-page shell: header, navigation, hash routes, sign-in gate and live updates.
 * The same shell runs the dashboard (apiSource) and a saved HTML report (embeddedSource,
 * read-only: no sign-in, settings or delete).
 */
import { h, replace } from './dom.js';
import { destroyCharts } from './charts.js';
import { errorMessage, loading } from './components.js';
import { renderOverview } from './views/overview.js';
import { renderDevice } from './views/device.js';
import { renderFindings } from './views/findings.js';
import { renderFlows } from './views/flows.js';
import { renderSettings } from './views/settings.js';
import { renderLogin, renderSetup } from './views/auth.js';

const ROUTES = {
  '': { title: 'Overview', render: renderOverview, nav: true },
  device: { title: 'Device', render: renderDevice },
  findings: { title: 'Findings', render: renderFindings, nav: true },
  flows: { title: 'Flows', render: renderFlows, nav: true },
  settings: { title: 'Settings', render: renderSettings, nav: true, editable: true },
};

/** "#/device/aa%3Abb?x=1" -> { name: 'device', args: ['aa:bb'], query: { x: '1' } } */
export function parseHash(hash) {
  const raw = hash.replace(/^#\/?/, '');
  const [path, qs = ''] = raw.split('?');
  const parts = path.split('/').filter((p) => p !== '').map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const query = Object.fromEntries(new URLSearchParams(qs));
  return { name: parts[0] ?? '', args: parts.slice(1), query };
}

export function startApp(source, options = {}) {
  const editable = options.editable !== false;
  const root = document.getElementById('app');
  const navList = h('ul', { class: 'nav-list' });
  const liveDot = h('span', { class: 'live-state', hidden: true, role: 'status' });
  const logoutButton = editable ? h('button', { type: 'button', class: 'link-button', onclick: () => logout() }, 'Log out') : null;
  const nav = h('nav', { 'aria-label': 'Main' }, navList);
  const announcer = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
  const main = h('main', { id: 'main', tabindex: '-1' });
  const banner = options.banner ? h('div', { class: 'report-banner' }, options.banner) : null;
  replace(
    root,
    h('a', { class: 'skip-link', href: '#main', onclick: (e) => { e.preventDefault(); main.focus(); } }, 'Skip to content'),
    h(
      'header',
      { class: 'site-header' },
      h('div', { class: 'brand' }, h('a', { href: '#/' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '◉'), ' notcreepy')),
      nav,
      h('div', { class: 'header-tools' }, liveDot, logoutButton),
    ),
    banner,
    main,
    announcer,
    h('footer', { class: 'site-footer' }, options.footer ?? 'notcreepy watches traffic passively and sends nothing anywhere.'),
  );

  // The server's log offers a link with the setup token in the fragment (never sent to the
  // server by the browser): take it, and take it out of the address bar and history.
  let setupToken = null;
  const setupMatch = /^#\/?setup=([A-Za-z0-9-]{1,200})$/.exec(location.hash);
  if (setupMatch) {
    setupToken = setupMatch[1];
    history.replaceState(null, '', `${location.pathname}${location.search}#/`);
  }

  let auth = null;
  let current = null; // { name, view } of the page on screen
  let stopEvents = null;
  let renderToken = 0;

  function setNav(visible) {
    nav.hidden = !visible;
    if (logoutButton) logoutButton.hidden = !visible;
    const here = parseHash(location.hash).name;
    replace(
      navList,
      Object.entries(ROUTES)
        .filter(([, r]) => r.nav && (editable || !r.editable))
        .map(([name, r]) =>
          h(
            'li',
            null,
            h('a', { href: `#/${name}`, 'aria-current': name === here ? 'page' : null, class: here === 'device' && name === '' ? 'is-parent' : null }, r.title),
          ),
        ),
    );
  }

  function announce(text) {
    const item = h('p', { class: 'toast' }, text);
    announcer.appendChild(item);
    setTimeout(() => item.remove(), 8000);
  }

  async function show() {
    const token = ++renderToken;
    destroyCharts();
    const hash = parseHash(location.hash);
    if (source.kind === 'api' && (!auth || !auth.authenticated)) {
      setNav(false);
      stopLive();
      const view = auth?.setup_required ? renderSetup : renderLogin;
      current = { name: auth?.setup_required ? 'setup' : 'login', view: null };
      document.title = `${auth?.setup_required ? 'First start' : 'Log in'} · notcreepy`;
      replace(main, loading());
      await view({ source, main, auth, token: setupToken, done: signedIn });
      return;
    }
    const routeDef = ROUTES[hash.name];
    setNav(true);
    if (!routeDef || (routeDef.editable && !editable)) {
      document.title = 'Not found · notcreepy';
      replace(main, h('h1', null, 'Not found'), h('p', null, 'There is no such page. ', h('a', { href: '#/' }, 'Back to the overview.')));
      return;
    }
    replace(main, loading());
    const ctx = {
      source,
      main,
      args: hash.args,
      query: hash.query,
      editable,
      announce,
      setTitle: (t) => {
        document.title = `${t} · notcreepy`;
      },
      stale: () => token !== renderToken,
    };
    document.title = `${routeDef.title} · notcreepy`;
    try {
      const view = await routeDef.render(ctx);
      if (token !== renderToken) return;
      current = { name: hash.name, view: view ?? null };
    } catch (err) {
      if (token !== renderToken) return;
      if (err?.status === 401) return; // onUnauthorized shows the login form
      replace(main, h('h1', null, 'Something went wrong'), errorMessage(err));
    }
  }

  function signedIn(state) {
    auth = state;
    setupToken = null;
    startLive();
    if (['setup', 'login'].includes(parseHash(location.hash).name)) location.hash = '#/';
    else show();
  }

  async function logout() {
    try {
      await source.logout();
    } finally {
      auth = { ...(auth ?? {}), authenticated: false, setup_required: false };
      stopLive();
      show();
    }
  }

  // Live updates: a finding refreshes the page on screen (once per burst) and is announced.
  let refreshTimer = null;
  function scheduleRefresh() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(async () => {
      refreshTimer = null;
      const view = current?.view;
      if (view?.refresh) {
        try {
          await view.refresh();
        } catch {
          // the next event or a reload will show the truth
        }
      }
    }, 400);
  }
  function startLive() {
    if (options.live === false || stopEvents) return;
    liveDot.hidden = false;
    let wasDown = false;
    stopEvents = source.subscribe({
      finding: (f) => {
        announce(`New finding on ${f.device_name ?? f.device_id}: ${f.title}`);
        scheduleRefresh();
      },
      deviceDeleted: () => scheduleRefresh(),
      status: (s) => current?.view?.status?.(s),
      connection: async (open) => {
        liveDot.textContent = open ? 'Live' : 'Reconnecting…';
        liveDot.className = `live-state ${open ? 'is-live' : 'is-down'}`;
        if (open) {
          // Whatever happened while the stream was down is only in the database: read it again.
          if (wasDown) scheduleRefresh();
          wasDown = false;
          return;
        }
        wasDown = true;
        // The stream also drops when the session ends: then show the login form instead of retrying forever.
        try {
          const state = await source.auth();
          if (!state.authenticated && auth?.authenticated) {
            auth = state;
            show();
          }
        } catch {
          // the server is away; EventSource keeps trying
        }
      },
    });
  }
  function stopLive() {
    stopEvents?.();
    stopEvents = null;
    liveDot.hidden = true;
  }

  source.onUnauthorized = () => {
    if (auth?.authenticated) {
      auth = { ...auth, authenticated: false };
      show();
    }
  };

  window.addEventListener('hashchange', () => {
    show();
    // Move focus to the new page for keyboard and screen reader users.
    main.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  });

  (async () => {
    try {
      auth = await source.auth();
    } catch (err) {
      replace(main, h('h1', null, 'The dashboard is not reachable'), errorMessage(err));
      return;
    }
    if (auth.authenticated) startLive();
    show();
  })();
}
