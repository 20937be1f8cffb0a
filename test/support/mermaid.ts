/**
 * The Mermaid flowchart of a Markdown document, read with the subset of
 * Mermaid's syntax the wiring report writes, and rejected where Mermaid would
 * reject it or read it otherwise: a node ID that is a keyword or starts an
 * edge marker, an unquoted label, a quote inside one, an edge to an undeclared node.
 */
export interface MermaidGraph {
  /** How many parts the graph falls into when edges are read both ways. */
  components(): number;
  /** Whether edges lead through nodes named by the steps, in order. */
  path(steps: string[]): boolean;
  edgeLabels(from: string, to: string): string[];
}

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly label?: string;
}

const ID = '[A-Za-z][A-Za-z0-9_]*';
const SHAPES: Array<[string, string]> = [['[/', '/]'], ['([', '])'], ['[(', ')]'], ['{{', '}}'], ['((', '))'], ['[', ']']];
const NODE = new RegExp(`^  (${ID})(\\[/|\\(\\[|\\[\\(|\\{\\{|\\(\\(|\\[)"([^"\\n]*)"(/\\]|\\]\\)|\\)\\]|\\}\\}|\\)\\)|\\])$`);
const EDGE = new RegExp(`^  (${ID}) (-->|-\\.->)(?:\\|"([^"\\n]*)"\\|)? (${ID})$`);

export function mermaidGraph(markdown: string): MermaidGraph {
  const block = /```mermaid\nflowchart LR\n([\s\S]*?)\n```/.exec(markdown);
  if (!block) throw new Error('no Mermaid flowchart in the document');
  const labels = new Map<string, string>();
  const edges: Edge[] = [];
  for (const line of block[1].split('\n')) {
    const node = NODE.exec(line);
    const edge = EDGE.exec(line);
    if (node) {
      if (!SHAPES.some(([open, close]) => open === node[2] && close === node[4])) throw new Error(`mismatched shape: ${line}`);
      if (labels.has(node[1])) throw new Error(`node declared twice: ${line}`);
      labels.set(node[1], node[3]);
    } else if (edge) {
      edges.push({ from: edge[1], to: edge[4], label: edge[3] });
    } else {
      throw new Error(`not a node or an edge Mermaid reads as meant: ${line}`);
    }
  }
  for (const id of labels.keys()) {
    if (/^end$/i.test(id) || /^[ox]/.test(id)) throw new Error(`node ID ${id} reads as a keyword or an edge marker`);
  }
  for (const edge of edges) {
    if (!labels.has(edge.from) || !labels.has(edge.to)) throw new Error(`edge to an undeclared node: ${edge.from} -> ${edge.to}`);
  }
  const named = (step: string) => [...labels].filter(([, label]) => {
    const title = label.split('<br/>')[0];
    return title === step || title.startsWith(`${step} `);
  }).map(([id]) => id);
  const between = (from: string, to: string) => edges.filter((edge) => named(from).includes(edge.from) && named(to).includes(edge.to));
  return {
    components: () => componentCount([...labels.keys()], edges),
    path: (steps) => steps.slice(1).reduce((reached, step) => new Set(edges
      .filter((edge) => reached.has(edge.from) && named(step).includes(edge.to)).map((edge) => edge.to)), new Set(named(steps[0]))).size > 0,
    edgeLabels: (from, to) => between(from, to).map((edge) => edge.label ?? ''),
  };
}

function componentCount(ids: string[], edges: Edge[]): number {
  const root = new Map(ids.map((id) => [id, id]));
  const find = (id: string): string => (root.get(id) === id ? id : find(root.get(id)!));
  for (const edge of edges) root.set(find(edge.from), find(edge.to));
  return new Set(ids.map(find)).size;
}
