// Drives a running `gemma serve` with the official OpenAI Node.js client, as users' programs do, and prints
// what it saw as JSON for ServeOpenAiClientTest: usage: node openai-client.mjs BASE_URL API_KEY
import OpenAI from 'openai';

const [baseURL, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 120000 });
const out = {};

const messages = [{ role: 'user', content: 'Tell me about the sea.' }];
const greedy = { model: 'tiny.gguf', messages, max_tokens: 24, temperature: 0, logprobs: true };
const ids = (lp) => (lp?.content ?? []).map((e) => e.id);

async function error(fn) {
  try {
    await fn();
    return { thrown: false };
  } catch (e) {
    return { thrown: true, class: e.constructor.name, status: e.status, code: e.code, type: e.type, param: e.param, message: e.message };
  }
}

out.models = (await client.models.list()).data.map((m) => m.id);

const r = await client.chat.completions.create(greedy);
out.chat = { content: r.choices[0].message.content, reasoning: r.choices[0].message.reasoning_content ?? null,
  finish: r.choices[0].finish_reason, usage: r.usage, ids: ids(r.choices[0].logprobs), object: r.object };

const stream = await client.chat.completions.create({ ...greedy, stream: true, stream_options: { include_usage: true } });
const s = { content: '', reasoning: '', finish: null, usage: null, ids: [], chunks: 0 };
for await (const chunk of stream) {
  s.chunks++;
  if (chunk.usage) s.usage = chunk.usage;
  const c = chunk.choices[0];
  if (!c) continue;
  s.content += c.delta?.content ?? '';
  s.reasoning += c.delta?.reasoning_content ?? '';
  s.ids.push(...ids(c.logprobs));
  if (c.finish_reason) s.finish = c.finish_reason;
}
out.stream = s;

const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather of a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
const toolTurn = [
  { role: 'user', content: 'Weather in Paris?' },
  { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
  { role: 'tool', tool_call_id: 'call_1', content: '{"temp": 21}' },
];
const t = await client.chat.completions.create({ model: 'tiny.gguf', messages: toolTurn, tools, max_tokens: 8, temperature: 0 });
out.tools = { finish: t.choices[0].finish_reason, promptTokens: t.usage.prompt_tokens };
const tn = await client.chat.completions.create({ model: 'tiny.gguf', messages: toolTurn, tools, max_tokens: 8, temperature: 0,
  tool_choice: { type: 'function', function: { name: 'get_weather' } }, stream: true });
let tnChunks = 0;
for await (const chunk of tn) tnChunks++;
out.toolsNamedStream = { chunks: tnChunks };

const structured = await client.chat.completions.create({ model: 'tiny.gguf', messages, max_tokens: 60, temperature: 0,
  response_format: { type: 'json_schema', json_schema: { name: 'city', strict: true,
    schema: { type: 'object', properties: { name: { type: 'string', maxLength: 6 }, sunny: { type: 'boolean' } } } } } });
out.structured = { content: structured.choices[0].message.content, finish: structured.choices[0].finish_reason };

const c = await client.completions.create({ model: 'tiny.gguf', prompt: 'Once upon a time', max_tokens: 8, temperature: 0 });
out.completion = { text: c.choices[0].text, finish: c.choices[0].finish_reason, object: c.object };

out.errors = {
  unknownModel: await error(() => client.chat.completions.create({ ...greedy, model: 'gpt-nope' })),
  badTemperature: await error(() => client.chat.completions.create({ ...greedy, temperature: -1 })),
  jsonSchema: await error(() => client.chat.completions.create({ ...greedy, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', pattern: '^a' } } } })),
  image: await error(() => client.chat.completions.create({ ...greedy, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://example.com/a.png' } }] }] })),
  wrongKey: await error(() => new OpenAI({ baseURL, apiKey: apiKey + 'x', maxRetries: 0 }).models.list()),
  streamUnknownModel: await error(async () => { for await (const _ of await client.chat.completions.create({ ...greedy, model: 'gpt-nope', stream: true })) { /* none */ } }),
};

console.log(JSON.stringify(out));
