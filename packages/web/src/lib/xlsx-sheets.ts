/**
 * The sheet names of an .xlsx workbook in tab order, read in the browser from its xl/workbook.xml
 * (the zip's central directory, then that one entry inflated with DecompressionStream), so a person
 * can choose the sheet before uploading. [] when the file cannot be read that way (the server then
 * imports the first sheet and reports any problem).
 */
export async function xlsxSheetNames(file: Blob): Promise<string[]> {
  try {
    const entry = await findEntry(file, "xl/workbook.xml");
    if (!entry) return [];
    const header = new DataView(await file.slice(entry.localOffset, entry.localOffset + 30).arrayBuffer());
    if (header.getUint32(0, true) !== 0x04034b50) return [];
    const start = entry.localOffset + 30 + header.getUint16(26, true) + header.getUint16(28, true);
    const data = file.slice(start, start + entry.compressed);
    const xml =
      entry.method === 0
        ? await data.text()
        : entry.method === 8
          ? await new Response(data.stream().pipeThrough(new DecompressionStream("deflate-raw"))).text()
          : "";
    return sheetNamesOf(xml);
  } catch {
    return [];
  }
}

/** The `name` of each <sheet> element of a workbook.xml, in order, XML entities decoded. Pure. */
export function sheetNamesOf(workbookXml: string): string[] {
  const names: string[] = [];
  for (const [, attrs] of workbookXml.matchAll(/<(?:\w+:)?sheet\b([^>]*)>/g)) {
    const name = /(?:^|\s)name\s*=\s*"([^"]*)"/.exec(attrs ?? "")?.[1];
    if (name !== undefined) names.push(unescapeXml(name));
  }
  return names;
}

function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|quot|apos|amp|#\d+|#x[0-9a-fA-F]+);/g, (_m, e: string) => {
    const named: Record<string, string> = { lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" };
    if (named[e]) return named[e];
    return String.fromCodePoint(e.startsWith("#x") ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)));
  });
}

async function findEntry(file: Blob, name: string): Promise<{ method: number; compressed: number; localOffset: number } | null> {
  const tailLength = Math.min(file.size, 22 + 65_535);
  const tail = new DataView(await file.slice(file.size - tailLength).arrayBuffer());
  let eocd = -1;
  for (let i = tailLength - 22; i >= 0; i--) {
    if (tail.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return null;
  const count = tail.getUint16(eocd + 10, true);
  const dirSize = tail.getUint32(eocd + 12, true);
  const dirOffset = tail.getUint32(eocd + 16, true);
  if (dirOffset + dirSize > file.size) return null;
  const dir = new DataView(await file.slice(dirOffset, dirOffset + dirSize).arrayBuffer());
  const decoder = new TextDecoder();
  let p = 0;
  for (let i = 0; i < count && p + 46 <= dir.byteLength && dir.getUint32(p, true) === 0x02014b50; i++) {
    const nameLength = dir.getUint16(p + 28, true);
    const entryName = decoder.decode(new Uint8Array(dir.buffer, dir.byteOffset + p + 46, nameLength));
    if (entryName === name) {
      return { method: dir.getUint16(p + 10, true), compressed: dir.getUint32(p + 20, true), localOffset: dir.getUint32(p + 42, true) };
    }
    p += 46 + nameLength + dir.getUint16(p + 30, true) + dir.getUint16(p + 32, true);
  }
  return null;
}
