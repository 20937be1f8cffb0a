/** The Markdown pieces the wiring report is written with. */
export function section(title: string, lines: string[]): string[] {
  return [`## ${title}`, '', ...(lines.length > 0 ? lines : ['none in the input']), ''];
}

export function table(header: string[], rows: string[][]): string[] {
  if (rows.length === 0) return [];
  const line = (cells: string[]) => `| ${cells.map((cell) => cell.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)];
}

export function code(text: string): string {
  return `\`${text}\``;
}

export function listText(values: string[]): string {
  return values.length === 0 ? 'none' : values.join(', ');
}
