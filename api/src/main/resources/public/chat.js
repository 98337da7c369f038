// The chat page of gemma serve. It is a client of the OpenAI-compatible API like any other: it streams
// /v1/chat/completions (SSE) and reads the context length from /v1/models. Model output is untrusted text:
// it reaches the page either as textContent or, for the answer's Markdown, as HTML that DOMPurify has
// sanitised. Conversations, settings and the API key stay in this browser (localStorage).

const { marked, DOMPurify, hljs } = window;

const KEYS = {
  settings: 'gemma4j.settings',
  conversations: 'gemma4j.conversations',
  current: 'gemma4j.current',
  apiKey: 'gemma4j.apiKey',
};

// Gemma's recommended sampling; reasoning on, as the server's own default; no max_tokens (the server's
// limit is what is left of the context)
const DEFAULTS = {
  system: '', temperature: 1.0, top_p: 0.95, top_k: 64, max_tokens: '', seed: '', thinking: true, tools: '',
};

const $ = (id) => document.getElementById(id);

function load(key, fallback) {
  try {
    const v = localStorage.getItem(key);
    return v == null ? fallback : JSON.parse(v);
  } catch {
    return fallback;
  }
}

function save(key, value) {
  localStorage.setItem(key, JSON.stringify(value));
}

let settings = { ...DEFAULTS, ...load(KEYS.settings, {}) };
let conversations = load(KEYS.conversations, []);
let current = load(KEYS.current, null);
let model = { id: null, nCtx: null };
let running = null; // { controller, message, view } while a request streams

// an answer that was streaming when the page closed ended there
for (const c of conversations) {
  for (const m of c.messages) {
    if (m.state === 'streaming') {
      m.state = 'stopped';
    }
  }
}

// ---- links in answers open elsewhere and never get the page as opener
DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

function renderMarkdown(el, text) {
  const html = marked.parse(text, { gfm: true, breaks: false, async: false });
  el.innerHTML = DOMPurify.sanitize(html, { USE_PROFILES: { html: true } });
  for (const code of el.querySelectorAll('pre code')) {
    hljs.highlightElement(code); // works on the element's text, so it adds only its own spans
  }
  el.dataset.raw = text;
}

// ---- API key

function apiKey() {
  return load(KEYS.apiKey, '');
}

function headers() {
  const h = { 'Content-Type': 'application/json' };
  const k = apiKey();
  if (k) {
    h.Authorization = `Bearer ${k}`;
  }
  return h;
}

function askForKey(message) {
  $('key-prompt').hidden = false;
  $('key-error').textContent = message || '';
  $('api-key').focus();
}

// ---- errors the server sends are OpenAI-shaped: {"error": {"message": ...}}

async function errorText(response) {
  const text = await response.text();
  try {
    const j = JSON.parse(text);
    if (j && j.error && j.error.message) {
      return `${response.status}: ${j.error.message}`;
    }
  } catch {
    // not JSON
  }
  return `${response.status} ${response.statusText}${text ? `: ${text.slice(0, 500)}` : ''}`;
}

function banner(text) {
  $('banner').textContent = text || '';
  $('banner').hidden = !text;
}

async function loadModel() {
  let r;
  try {
    r = await fetch('/v1/models', { headers: headers() });
  } catch (e) {
    banner(`Cannot reach the server: ${e.message}`);
    return;
  }
  if (r.status === 401) {
    askForKey(apiKey() ? 'The key was not accepted.' : '');
    return;
  }
  if (!r.ok) {
    banner(`Cannot read the model: ${await errorText(r)}`);
    return;
  }
  $('key-prompt').hidden = true;
  banner('');
  const j = await r.json();
  const m = j.data && j.data[0];
  if (m) {
    model = { id: m.id, nCtx: m.meta && m.meta.n_ctx ? m.meta.n_ctx : null };
    $('model-name').textContent = m.id;
    $('model-info').textContent = model.nCtx ? `context ${model.nCtx} tokens` : '';
  }
}

// ---- settings

const FIELDS = [
  ['set-system', 'system', 'text'], ['set-temperature', 'temperature', 'number'], ['set-top-p', 'top_p', 'number'],
  ['set-top-k', 'top_k', 'number'], ['set-max-tokens', 'max_tokens', 'number'], ['set-seed', 'seed', 'number'],
  ['set-thinking', 'thinking', 'check'], ['set-tools', 'tools', 'text'],
];

function showSettings() {
  for (const [id, key, kind] of FIELDS) {
    if (kind === 'check') {
      $(id).checked = !!settings[key];
    } else {
      $(id).value = settings[key] ?? '';
    }
  }
}

function readSettings() {
  for (const [id, key, kind] of FIELDS) {
    if (kind === 'check') {
      settings[key] = $(id).checked;
    } else if (kind === 'number') {
      settings[key] = $(id).value === '' ? '' : Number($(id).value);
    } else {
      settings[key] = $(id).value;
    }
  }
  save(KEYS.settings, settings);
}

// ---- conversations

function conversation() {
  return conversations.find((c) => c.id === current) || null;
}

function newConversation() {
  const c = { id: `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`, title: 'New chat', messages: [] };
  conversations.unshift(c);
  current = c.id;
  persist();
  return c;
}

function persist() {
  save(KEYS.conversations, conversations);
  save(KEYS.current, current);
}

function showConversations() {
  const ul = $('conversations');
  ul.replaceChildren();
  for (const c of conversations) {
    const li = document.createElement('li');
    li.className = c.id === current ? 'current' : '';
    li.dataset.id = c.id;
    const open = document.createElement('button');
    open.type = 'button';
    open.className = 'conv-open';
    open.textContent = c.title;
    open.addEventListener('click', () => openConversation(c.id));
    const del = document.createElement('button');
    del.type = 'button';
    del.className = 'conv-delete';
    del.title = 'Delete this conversation';
    del.setAttribute('aria-label', `Delete ${c.title}`);
    del.textContent = '×';
    del.addEventListener('click', () => deleteConversation(c.id));
    li.append(open, del);
    ul.append(li);
  }
}

function openConversation(id) {
  stop();
  current = id;
  persist();
  showConversations();
  showMessages();
}

function deleteConversation(id) {
  if (running && conversation() && conversation().id === id) {
    stop();
  }
  conversations = conversations.filter((c) => c.id !== id);
  if (current === id) {
    current = conversations.length ? conversations[0].id : null;
  }
  persist();
  showConversations();
  showMessages();
}

// ---- messages

function messageView(m) {
  const el = document.createElement('article');
  el.className = `message ${m.role}`;
  const role = document.createElement('div');
  role.className = 'role';
  role.textContent = m.role === 'user' ? 'You' : (model.id || 'Model');
  el.append(role);
  const view = { el };
  if (m.role === 'user') {
    const body = document.createElement('div');
    body.className = 'content plain';
    body.textContent = m.content;
    el.append(body);
    return view;
  }
  view.reasoning = document.createElement('details');
  view.reasoning.className = 'reasoning';
  const summary = document.createElement('summary');
  summary.textContent = 'Reasoning';
  view.reasoningText = document.createElement('div');
  view.reasoningText.className = 'reasoning-text';
  view.reasoning.append(summary, view.reasoningText);
  view.content = document.createElement('div');
  view.content.className = 'content markdown';
  view.tools = document.createElement('div');
  view.tools.className = 'tool-calls';
  view.error = document.createElement('div');
  view.error.className = 'error';
  view.error.setAttribute('role', 'alert');
  view.stats = document.createElement('div');
  view.stats.className = 'stats';
  el.append(view.reasoning, view.content, view.tools, view.error, view.stats);
  update(view, m);
  return view;
}

/** Puts an assistant message's current state into its view. */
function update(view, m) {
  view.el.dataset.state = m.state || 'done';
  view.reasoning.hidden = !m.reasoning;
  view.reasoningText.textContent = m.reasoning || '';
  view.reasoningText.dataset.raw = m.reasoning || '';
  if (view.content.dataset.raw !== (m.content || '') || !view.content.hasChildNodes()) {
    renderMarkdown(view.content, m.content || '');
  }
  view.tools.replaceChildren();
  for (const call of m.tool_calls || []) {
    const box = document.createElement('div');
    box.className = 'tool-call';
    const name = document.createElement('code');
    name.className = 'tool-name';
    name.textContent = call.function.name;
    const args = document.createElement('pre');
    args.className = 'tool-arguments';
    args.textContent = call.function.arguments;
    const label = document.createElement('span');
    label.textContent = 'Tool call ';
    box.append(label, name, args);
    view.tools.append(box);
  }
  view.error.hidden = !m.error;
  view.error.textContent = m.error || '';
  view.stats.textContent = statsText(m);
}

function statsText(m) {
  const parts = [];
  if (m.state === 'stopped') {
    parts.push('stopped');
  }
  const s = m.stats;
  if (s) {
    parts.push(`${s.completion} tokens`);
    if (s.rate != null) {
      parts.push(`${s.rate.toFixed(1)} tokens/s`);
    }
    if (s.firstTokenSeconds != null) {
      parts.push(`first token after ${s.firstTokenSeconds.toFixed(2)} s`);
    }
    if (s.total != null) {
      parts.push(s.nCtx ? `context ${s.total}/${s.nCtx} (${Math.round((100 * s.total) / s.nCtx)}%)` : `context ${s.total}`);
    }
    if (s.finish) {
      parts.push(`finish: ${s.finish}`);
    }
  }
  return parts.join(' · ');
}

function showMessages() {
  const box = $('messages');
  box.replaceChildren();
  const c = conversation();
  if (!c) {
    return;
  }
  for (const m of c.messages) {
    box.append(messageView(m).el);
  }
  box.scrollTop = box.scrollHeight;
}

// ---- one request

function requestBody(c) {
  const messages = [];
  if (settings.system.trim()) {
    messages.push({ role: 'system', content: settings.system });
  }
  for (const m of c.messages) {
    if (m.role === 'user') {
      messages.push({ role: 'user', content: m.content });
    } else if (m.content || (m.tool_calls && m.tool_calls.length)) {
      const a = { role: 'assistant', content: m.content || '' };
      if (m.tool_calls && m.tool_calls.length) {
        a.tool_calls = m.tool_calls;
      }
      messages.push(a);
    }
  }
  const body = {
    messages,
    stream: true,
    stream_options: { include_usage: true },
    chat_template_kwargs: { enable_thinking: !!settings.thinking },
  };
  if (model.id) {
    body.model = model.id;
  }
  for (const key of ['temperature', 'top_p', 'top_k', 'max_tokens', 'seed']) {
    if (settings[key] !== '' && settings[key] != null) {
      body[key] = Number(settings[key]);
    }
  }
  if (settings.tools.trim()) {
    body.tools = JSON.parse(settings.tools); // a mistake here is reported before anything is sent
  }
  return body;
}

/** The data of each server-sent event of a response, as it arrives. */
async function* events(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      break;
    }
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
      const data = block.split(/\r?\n/).filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, '')).join('\n');
      if (data) {
        yield data;
      }
    }
  }
}

async function send(text) {
  readSettings();
  let c = conversation() || newConversation();
  let body;
  const user = { role: 'user', content: text };
  c.messages.push(user);
  if (c.title === 'New chat') {
    c.title = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  }
  const answer = { role: 'assistant', content: '', reasoning: '', tool_calls: [], state: 'streaming' };
  c.messages.push(answer);
  persist();
  showConversations();
  const box = $('messages');
  box.append(messageView(user).el);
  const view = messageView(answer);
  box.append(view.el);
  box.scrollTop = box.scrollHeight;
  try {
    body = requestBody({ messages: c.messages.slice(0, -1) });
  } catch (e) {
    return finish(view, answer, 'error', `Tools setting is not valid JSON: ${e.message}`);
  }

  const controller = new AbortController();
  running = { controller, message: answer, view };
  setBusy(true);
  const started = performance.now();
  let first = null;
  let usage = null;
  let finishReason = null;
  let pending = false;
  const redraw = () => {
    if (!pending) {
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        update(view, answer);
        box.scrollTop = box.scrollHeight;
      });
    }
  };
  try {
    const r = await fetch('/v1/chat/completions', {
      method: 'POST', headers: headers(), body: JSON.stringify(body), signal: controller.signal,
    });
    if (!r.ok) {
      const why = await errorText(r);
      if (r.status === 401) {
        askForKey('The server needs an API key.');
      }
      return finish(view, answer, 'error', why);
    }
    for await (const data of events(r)) {
      if (data === '[DONE]') {
        break;
      }
      const chunk = JSON.parse(data);
      if (chunk.error) {
        return finish(view, answer, 'error', chunk.error.message || JSON.stringify(chunk.error));
      }
      if (chunk.usage) {
        usage = chunk.usage;
      }
      for (const choice of chunk.choices || []) {
        const d = choice.delta || {};
        if (first == null && (d.content || d.reasoning_content || d.tool_calls)) {
          first = performance.now();
        }
        if (d.reasoning_content) {
          answer.reasoning += d.reasoning_content;
        }
        if (d.content) {
          answer.content += d.content;
        }
        for (const t of d.tool_calls || []) {
          const i = t.index ?? answer.tool_calls.length;
          const call = answer.tool_calls[i] || (answer.tool_calls[i] = { id: t.id, type: 'function', function: { name: '', arguments: '' } });
          if (t.id) {
            call.id = t.id;
          }
          if (t.function) {
            call.function.name += t.function.name || '';
            call.function.arguments += t.function.arguments || '';
          }
        }
        if (choice.finish_reason) {
          finishReason = choice.finish_reason;
        }
      }
      redraw();
    }
  } catch (e) {
    if (e.name === 'AbortError') {
      return finish(view, answer, 'stopped', null);
    }
    return finish(view, answer, 'error', `The request failed: ${e.message}`);
  }
  const end = performance.now();
  if (usage) {
    const generation = first != null ? (end - first) / 1000 : null;
    answer.stats = {
      completion: usage.completion_tokens,
      total: usage.total_tokens,
      nCtx: model.nCtx,
      // tokens after the first over the time after it: the decoding rate, without the prompt's
      rate: generation && usage.completion_tokens > 1 ? (usage.completion_tokens - 1) / generation : null,
      firstTokenSeconds: first != null ? (first - started) / 1000 : null,
      finish: finishReason,
    };
  }
  return finish(view, answer, finishReason || usage ? 'done' : 'error', finishReason || usage ? null : 'The answer ended early (no finish reason).');
}

function finish(view, answer, state, error) {
  answer.state = state;
  answer.error = error || undefined;
  update(view, answer);
  if (running && running.message === answer) {
    running = null;
  }
  setBusy(false);
  persist();
}

function stop() {
  if (running) {
    running.controller.abort(); // the server frees the slot when the connection closes
  }
}

function setBusy(busy) {
  $('send').disabled = busy;
  $('stop').disabled = !busy;
  document.body.dataset.busy = busy ? 'true' : 'false';
}

// ---- wiring

function start() {
  showSettings();
  showConversations();
  showMessages();
  setBusy(false);
  for (const [id] of FIELDS) {
    $(id).addEventListener('change', readSettings);
  }
  $('settings-toggle').addEventListener('click', () => {
    const s = $('settings');
    s.hidden = !s.hidden;
    $('settings-toggle').setAttribute('aria-expanded', String(!s.hidden));
  });
  $('set-reset').addEventListener('click', () => {
    settings = { ...DEFAULTS };
    save(KEYS.settings, settings);
    showSettings();
  });
  $('forget-key').addEventListener('click', () => {
    localStorage.removeItem(KEYS.apiKey);
    loadModel();
  });
  $('key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    save(KEYS.apiKey, $('api-key').value.trim());
    $('api-key').value = '';
    loadModel();
  });
  $('new-chat').addEventListener('click', () => {
    stop();
    newConversation();
    showConversations();
    showMessages();
    $('input').focus();
  });
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('input').value;
    if (!text.trim() || running) {
      return;
    }
    $('input').value = '';
    send(text);
  });
  $('input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $('composer').requestSubmit();
    }
  });
  $('stop').addEventListener('click', stop);
  loadModel().then(() => {
    document.body.dataset.ready = 'true';
    showMessages(); // the model's name in the role labels
  });
}

start();
