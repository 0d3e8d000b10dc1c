/** Filter forms whose state lives in the page's hash, so a filtered list can be bookmarked and shared. */
import { h, route, uid } from '../dom.js';

/** A labelled <select>: options are [value, label] pairs; '' means "any". */
export function selectField(name, label, options, selected) {
  const id = uid(name);
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    h('select', { id, name }, options.map(([value, text]) => h('option', { value, selected: String(selected ?? '') === String(value) }, text))),
  );
}

export function inputField(name, label, value, attrs = {}) {
  const id = uid(name);
  return h('div', { class: 'field' }, h('label', { for: id }, label), h('input', { id, name, value: value ?? '', ...attrs }));
}

/** A GET-like form: submitting it moves to #/<page>?<its fields>. */
export function filterForm(page, fields, legend) {
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': legend },
    fields,
    h('div', { class: 'field field-buttons' }, h('button', { type: 'submit' }, 'Apply'), h('a', { href: route(page), class: 'button-link' }, 'Clear')),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(form)) if (String(value).trim() !== '') params.set(key, String(value).trim());
    const qs = params.toString();
    location.hash = `${route(page)}${qs ? `?${qs}` : ''}`;
  });
  return form;
}

/** Previous / next links for a page of results ({ total, limit, offset }). */
export function pager(page, query, result) {
  const { total, limit, offset } = result;
  if (total <= limit) return null;
  const link = (newOffset, text, rel) => {
    const params = new URLSearchParams({ ...query, offset: String(newOffset) });
    if (newOffset === 0) params.delete('offset');
    return h('a', { href: `${route(page)}?${params.toString()}`, rel, class: 'button-link' }, text);
  };
  return h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages' },
    offset > 0 ? link(Math.max(0, offset - limit), '← Previous', 'prev') : null,
    h('span', null, `${offset + 1}–${Math.min(offset + limit, total)} of ${total}`),
    offset + limit < total ? link(offset + limit, 'Next →', 'next') : null,
  );
}
