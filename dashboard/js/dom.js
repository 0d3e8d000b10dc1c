/**
 * Building the page from data. Everything that comes from the network (device names, hosts,
 * finding details) is attacker-controlled, so it only ever becomes a text node or an attribute
 * value: nothing here parses a string as HTML.
 */

/**
 * h('a', { href: '#/x', class: 'c', onclick: fn }, 'text', child, [more]) -> Element.
 * Children: strings and numbers become text nodes; null, undefined and false are skipped.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [name, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'class') el.className = String(value);
      else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
      else if (name === 'dataset') Object.assign(el.dataset, value);
      else if (name === 'href') el.setAttribute('href', safeHref(String(value)));
      else if (name === 'value' && 'value' in el) el.value = String(value);
      else el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
  return parent;
}

/** Replace an element's content. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** Links are built by the pages themselves; a link from data could carry javascript:, so only in-page ones pass. */
function safeHref(href) {
  return href.startsWith('#') || href.startsWith('/') ? href : '#';
}

/** An in-page link to a route: route('device', id) -> "#/device/<id>". */
export function route(...parts) {
  return `#/${parts.map((p) => encodeURIComponent(String(p))).join('/')}`;
}

let idCounter = 0;
/** A unique id for label/aria pairs. */
export function uid(prefix) {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}
