// A .http or .rest file in REST Client's format, read into its requests and file variables. Only
// the reading: what a request's {{…}} mean to a load test is http-file-import.ts's.
//
// The format as REST Client reads it: a line starting with ### ends one request and begins the
// next (text after the ### is a title); comment lines (# or //) are left out wherever they stand,
// the body included; `# @name NAME` names the request of its block and `# @note`, `# @prompt VAR`
// and others are its settings; `@NAME = VALUE` lines define file variables, anywhere in the file
// (the first definition of a name counts). A request is its request line (METHOD URL
// [HTTP/VERSION]; GET when the method is left out; lines below it starting with ? or & continue its
// query), header lines up to the first blank line, then the body up to the next ###.

/** A line of the file: its text as written, and its number counted from 0 as an editor counts. */
export interface HttpFileLine {
  text: string;
  line: number;
}

export interface HttpFileHeader {
  name: string;
  value: string;
  line: number;
}

/** A `# @word [value]` comment of a request's block other than `@name`: `@note`, `@prompt otp`, `@no-redirect`. */
export interface HttpFileSetting {
  name: string;
  value: string;
  line: number;
}

export interface HttpFileRequest {
  /** its place among the file's requests, from 0 */
  index: number;
  /** `# @name NAME` in its block */
  name?: string;
  /** the request line's number, from 0 */
  line: number;
  /** the first line of its block (after the ### above it), from 0: a cursor from here to the next ### is in this request */
  start: number;
  /** upper-cased; GET when the request line names none */
  method: string;
  /** as written, {{…}} unresolved, query lines joined */
  url: string;
  /** `HTTP/1.1` at the end of the request line, without `HTTP/` */
  httpVersion?: string;
  headers: HttpFileHeader[];
  /** the body's lines as written, without comment lines (as REST Client sends it) */
  body?: HttpFileLine[];
  settings: HttpFileSetting[];
  /** lines of the header part that are not `NAME: VALUE` */
  unreadHeaderLines: HttpFileLine[];
  /** the request is a cURL command line rather than a request line */
  curl: boolean;
}

export interface HttpFileVariable {
  name: string;
  /** after REST Client's escapes (\n, \r, \t, and \ before any other character) */
  value: string;
  line: number;
}

export interface HttpFile {
  requests: HttpFileRequest[];
  /** by name: the first definition of each */
  variables: Map<string, HttpFileVariable>;
}

const DELIMITER = /^#{3,}/;
const COMMENT = /^\s*(#|\/\/)/;
const SETTING = /^\s*(?:#+|\/{2,})\s*@([\w-]+)(?:\s+(.*?))?\s*$/;
const FILE_VARIABLE = /^\s*@([^\s=]+)\s*=\s*(.*?)\s*$/;
const RESPONSE_LINE = /^\s*HTTP\/[\d.]+/;
const QUERY_LINE = /^\s*[&?]/;
// The methods REST Client recognises; another first word is part of the URL, as there.
const METHOD = /^(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS|CONNECT|TRACE)\s+/i;
const VERSION = /\s+HTTP\/(\S*)$/i;
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t' };

export function parseHttpFile(text: string): HttpFile {
  const lines = text.split(/\r?\n/).map((t, line): HttpFileLine => ({ text: t, line }));
  const variables = new Map<string, HttpFileVariable>();
  for (const { text: t, line } of lines) {
    const match = FILE_VARIABLE.exec(t);
    if (match && !variables.has(match[1])) variables.set(match[1], { name: match[1], value: unescape(match[2]), line });
  }
  const requests: HttpFileRequest[] = [];
  let block: HttpFileLine[] = [];
  let start = 0;
  for (const line of [...lines, undefined]) {
    if (line !== undefined && !DELIMITER.test(line.text)) {
      block.push(line);
      continue;
    }
    const request = readBlock(block, start, requests.length);
    if (request) requests.push(request);
    block = [];
    start = (line?.line ?? 0) + 1;
  }
  return { requests, variables };
}

function unescape(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => ESCAPES[c] ?? c);
}

function readBlock(block: HttpFileLine[], start: number, index: number): HttpFileRequest | undefined {
  let name: string | undefined;
  const settings: HttpFileSetting[] = [];
  for (const { text, line } of block) {
    const setting = SETTING.exec(text);
    // `# @host = x` is a file variable commented out, not a setting.
    if (!setting || setting[2]?.startsWith('=')) continue;
    if (setting[1] === 'name') name ??= setting[2];
    else settings.push({ name: setting[1], value: setting[2] ?? '', line });
  }
  const content = block.filter((l) => !COMMENT.test(l.text));
  let from = 0;
  while (from < content.length && (content[from].text.trim() === '' || FILE_VARIABLE.test(content[from].text))) from++;
  let end = content.length;
  while (end > from && content[end - 1].text.trim() === '') end--;
  // A block of file variables and comments only; or a response pasted below its request.
  if (from === end || RESPONSE_LINE.test(content[from].text)) return undefined;
  const rest = content.slice(from, end);
  const first = rest[0];
  const request: HttpFileRequest = { index, name, line: first.line, start, method: 'GET', url: '', headers: [], settings, unreadHeaderLines: [], curl: false };
  if (/^\s*curl\s/i.test(first.text)) return { ...request, curl: true, url: first.text.trim() };

  let at = 1;
  let requestLine = first.text.trim();
  while (at < rest.length && QUERY_LINE.test(rest[at].text)) requestLine += rest[at++].text.trim();
  const method = METHOD.exec(requestLine);
  if (method) {
    request.method = method[1].toUpperCase();
    requestLine = requestLine.slice(method[0].length).trim();
  }
  const version = VERSION.exec(requestLine);
  if (version) {
    request.httpVersion = version[1];
    requestLine = requestLine.slice(0, version.index);
  }
  request.url = requestLine;

  for (; at < rest.length && rest[at].text.trim() !== ''; at++) {
    const header = /^([^:]+):(.*)$/.exec(rest[at].text.trim());
    if (header) request.headers.push({ name: header[1].trim(), value: header[2].trim(), line: rest[at].line });
    else request.unreadHeaderLines.push(rest[at]);
  }
  if (at < rest.length) request.body = rest.slice(at + 1);
  return request;
}
