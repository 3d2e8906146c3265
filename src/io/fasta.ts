/**
 * FASTA parsing: multi-record files, `>` headers, sequences wrapped over several lines, blank lines,
 * `;` comment lines and Windows line endings. A malformed record is reported with its line number and
 * skipped, so the well-formed records of the same file can still be used.
 * @module
 */

/** One FASTA record. */
export interface FastaRecord {
  /** First word of the header (after `>`). */
  id: string;
  /** Rest of the header after the id (may be empty). */
  description: string;
  /** Sequence lines joined, whitespace removed; case kept as written. */
  sequence: string;
  /** 1-based line of the header. */
  line: number;
}

/** A malformed part of a FASTA file. */
export interface FastaIssue {
  /** 1-based line the problem starts at. */
  line: number;
  /** The record's id when the header could be read, else null. */
  id: string | null;
  /** What is wrong, e.g. "record 'x' has no sequence lines". */
  message: string;
}

/** Records and problems of one file. */
export interface FastaResult {
  records: FastaRecord[];
  issues: FastaIssue[];
}

/**
 * Parses FASTA text.
 * Reported (and skipped): sequence lines before the first header, a header without a name, a record
 * with no sequence. Characters inside sequences are not judged here (callers check alphabets).
 * @param source name used in messages (a file path); default "FASTA"
 */
export function parseFasta(text: string, source = "FASTA"): FastaResult {
  const records: FastaRecord[] = [];
  const issues: FastaIssue[] = [];
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split(/\r?\n|\r/);
  let cur: { id: string | null; description: string; parts: string[]; line: number } | null = null;
  let orphanLine = 0;
  const finish = () => {
    if (!cur) return;
    const seq = cur.parts.join("");
    if (cur.id === null) {
      // already reported when the header was read
    } else if (seq.length === 0) {
      issues.push({
        line: cur.line,
        id: cur.id,
        message: `${source}:${cur.line}: record '${cur.id}' has no sequence lines`,
      });
    } else {
      records.push({ id: cur.id, description: cur.description, sequence: seq, line: cur.line });
    }
    cur = null;
  };
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trim();
    if (line === "" || line.startsWith(";")) return;
    if (line.startsWith(">")) {
      finish();
      const header = line.slice(1).trim();
      const m = header.match(/^(\S+)\s*(.*)$/);
      if (!m) {
        issues.push({
          line: lineNo,
          id: null,
          message: `${source}:${lineNo}: header '>' has no sequence name`,
        });
        cur = { id: null, description: "", parts: [], line: lineNo };
      } else cur = { id: m[1], description: m[2], parts: [], line: lineNo };
      return;
    }
    if (!cur) {
      if (!orphanLine) {
        orphanLine = lineNo;
        issues.push({
          line: lineNo,
          id: null,
          message: `${source}:${lineNo}: sequence data before the first '>' header`,
        });
      }
      return;
    }
    (cur as { parts: string[] }).parts.push(line.replace(/\s+/g, ""));
  });
  finish();
  return { records, issues };
}

/** Like {@link parseFasta} but throws the first problem (for callers that need a clean file). */
export function parseFastaStrict(text: string, source = "FASTA"): FastaRecord[] {
  const r = parseFasta(text, source);
  if (r.issues.length) throw new Error(r.issues[0].message);
  if (r.records.length === 0) throw new Error(`${source}: no FASTA records found`);
  return r.records;
}
