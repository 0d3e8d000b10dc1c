/** Settings: how long data is kept, deleting a device's data, the dashboard password. */
import { h, replace, route, uid } from '../dom.js';
import { confirmDialog, errorMessage, table, verdictBadge } from '../components.js';
import { plural, time } from '../format.js';

function retentionForm(ctx, settings) {
  const daysId = uid('retain-days');
  const keepId = uid('keep-all');
  const result = h('div', { role: 'status', class: 'form-result' });
  const keepAll = h('input', { type: 'checkbox', id: keepId, name: 'keep_all', checked: settings.retain_days === null });
  const days = h('input', { type: 'number', id: daysId, name: 'retain_days', min: '1', max: '3650', step: '1', inputmode: 'numeric', value: settings.retain_days ?? 30, disabled: settings.retain_days === null });
  keepAll.addEventListener('change', () => {
    days.disabled = keepAll.checked;
  });
  const form = h(
    'form',
    { class: 'stacked-form' },
    h('div', { class: 'field' }, h('label', { for: daysId }, 'Keep flows and findings for (days)'), days),
    h('div', { class: 'field field-check' }, keepAll, h('label', { for: keepId }, 'Keep everything (no automatic deletion)')),
    h('p', { class: 'small muted' }, 'The capture daemon deletes older data as it runs; times are the capture clock.'),
    h('button', { type: 'submit' }, 'Save'),
    result,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = keepAll.checked ? null : Number(days.value);
    try {
      const saved = await ctx.source.saveSettings({ retain_days: value });
      replace(result, h('p', { class: 'ok' }, saved.retain_days === null ? 'Saved: everything is kept.' : `Saved: data is kept for ${plural(saved.retain_days, 'day')}.`));
    } catch (err) {
      replace(result, errorMessage(err));
    }
  });
  return form;
}

function devicesTable(ctx, devices, onDeleted) {
  const rows = devices.map((d) => {
    const button = h('button', { type: 'button', class: 'danger small-button', 'aria-label': `Delete the data of ${d.name}` }, 'Delete data');
    button.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: `Delete everything stored about ${d.name}?`,
        body: `Its flows, findings, observations and addresses (${d.id}) are removed from the database for good.`,
        confirmLabel: 'Delete its data',
      });
      if (!ok) return;
      button.disabled = true;
      try {
        const r = await ctx.source.deleteDevice(d.id);
        ctx.announce(`Deleted ${d.name}: ${plural(r.deleted.flows, 'flow')}, ${plural(r.deleted.findings, 'finding')}.`);
        await onDeleted();
      } catch (err) {
        button.disabled = false;
        ctx.announce(err.message);
      }
    });
    return h(
      'tr',
      { 'data-device': d.id },
      h('td', null, h('a', { href: route('device', d.id) }, d.name), h('div', { class: 'muted small mono' }, d.id)),
      h('td', null, verdictBadge(d.report.verdict)),
      h('td', { class: 'nowrap' }, time(d.last_seen)),
      h('td', null, button),
    );
  });
  return rows.length ? table(['Device', 'Verdict', 'Last seen', ''], rows, 'Devices') : h('p', { class: 'muted' }, 'No devices stored.');
}

function passwordForm(ctx, rules) {
  const currentId = uid('current');
  const newId = uid('new-password');
  const result = h('div', { role: 'status', class: 'form-result' });
  const form = h(
    'form',
    { class: 'stacked-form' },
    h('div', { class: 'field' }, h('label', { for: currentId }, 'Current password'), h('input', { type: 'password', id: currentId, name: 'current', autocomplete: 'current-password', required: true })),
    h('div', { class: 'field' }, h('label', { for: newId }, 'New password'), h('input', { type: 'password', id: newId, name: 'password', autocomplete: 'new-password', required: true, 'aria-describedby': `${newId}-rules` })),
    h('p', { class: 'small muted', id: `${newId}-rules` }, rules),
    h('button', { type: 'submit' }, 'Change password'),
    result,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    try {
      await ctx.source.changePassword(String(data.get('current')), String(data.get('password')));
      form.reset();
      replace(result, h('p', { class: 'ok' }, 'Password changed; other sessions were logged out.'));
    } catch (err) {
      replace(result, errorMessage(err), err.reasons?.length ? h('ul', { class: 'error' }, err.reasons.map((r) => h('li', null, r))) : null);
    }
  });
  return form;
}

export async function renderSettings(ctx) {
  const { source, main } = ctx;
  const [settings, list, auth] = await Promise.all([source.settings(), source.devices(), source.auth()]);
  if (ctx.stale()) return null;
  const devicesBox = h('div');
  const loadDevices = async () => {
    const fresh = await source.devices();
    replace(devicesBox, devicesTable(ctx, fresh.devices, loadDevices));
  };
  replace(devicesBox, devicesTable(ctx, list.devices, loadDevices));
  replace(
    main,
    h('h1', null, 'Settings'),
    h('section', { class: 'panel', 'aria-labelledby': 'retention-heading' }, h('h2', { id: 'retention-heading' }, 'Data retention'), retentionForm(ctx, settings)),
    h('section', { class: 'panel', 'aria-labelledby': 'forget-heading' }, h('h2', { id: 'forget-heading' }, "Delete a device's data"), devicesBox),
    h('section', { class: 'panel', 'aria-labelledby': 'password-heading' }, h('h2', { id: 'password-heading' }, 'Dashboard password'), passwordForm(ctx, auth.password_rules)),
  );
  return { refresh: loadDevices };
}
