package serve

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
)

// maxLineShown is how much of one log line a page shows; the rest is
// counted, not sent (the raw file has it all).
const maxLineShown = 4096

// logIndex is where each page of a log file starts, for the file as it
// was when indexed (size and mtime say whether it still is).
type logIndex struct {
	size, mod int64
	perPage   int
	starts    []int64 // byte offset of each page's first line
	lines     int
}

// logFile is one file of a run's logs/ directory.
type logFile struct {
	Name string // what ?log= says: the file name without ".log"
	File string // the file name
	Size int64
}

// listLogs lists the regular files of dir/logs, sorted by name (n1, n2,
// …, n10 in numeric order when names share a prefix).
func listLogs(root *os.Root, dir string) ([]logFile, error) {
	f, err := openDir(root, path.Join(dir, "logs"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	var out []logFile
	for _, e := range ents {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, logFile{Name: strings.TrimSuffix(e.Name(), ".log"), File: e.Name(), Size: info.Size()})
	}
	sort.Slice(out, func(i, j int) bool { return naturalLess(out[i].Name, out[j].Name) })
	return out, nil
}

// naturalLess orders names with their digit runs compared as numbers:
// n2 before n10.
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digitPrefix(a), digitPrefix(b)
		if da != "" && db != "" {
			na, nb := strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			a, b = a[len(da):], b[len(db):]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digitPrefix(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

// errNoPage is a page number past the end of a log.
var errNoPage = errors.New("no such page")

// logPage is one page of a log as the run page shows it.
type logPage struct {
	Name  string
	URL   string // the raw file
	Page  int
	Pages int
	Lines int // in the whole file
	First int // 1-based number of the first line shown
	Text  []string
}

// readLogPage reads page (1-based) of the log file rel, per lines a page.
func (s *Server) readLogPage(root *os.Root, rel string, page, per int) (*logPage, error) {
	f, st, err := openRegular(root, rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	key := s.dir + "\x00" + rel
	s.mu.Lock()
	idx := s.logs[key]
	s.mu.Unlock()
	if idx == nil || idx.size != st.Size() || idx.mod != st.ModTime().UnixNano() || idx.perPage != per {
		if idx, err = indexLog(f, per); err != nil {
			return nil, err
		}
		idx.size, idx.mod = st.Size(), st.ModTime().UnixNano()
		s.mu.Lock()
		s.logs[key] = idx
		s.mu.Unlock()
	}
	pages := max(1, len(idx.starts))
	if page < 1 || page > pages {
		return nil, fmt.Errorf("%w: %s has %d %s of %d lines", errNoPage, path.Base(rel), pages, plural(pages, "page", "pages"), per)
	}
	lp := &logPage{Page: page, Pages: pages, Lines: idx.lines, First: (page-1)*per + 1}
	if len(idx.starts) == 0 {
		return lp, nil
	}
	if _, err := f.Seek(idx.starts[page-1], io.SeekStart); err != nil {
		return nil, err
	}
	lp.Text, err = readLines(bufio.NewReaderSize(f, 64<<10), per)
	return lp, err
}

// indexLog records the offset of every per-th line of f.
func indexLog(f *os.File, per int) (*logIndex, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	idx := &logIndex{perPage: per}
	br := bufio.NewReaderSize(f, 64<<10)
	var off int64
	atStart := true
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			if atStart {
				if idx.lines%per == 0 {
					idx.starts = append(idx.starts, off)
				}
				idx.lines++
			}
			off += int64(len(chunk))
			atStart = chunk[len(chunk)-1] == '\n'
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			return idx, nil
		default:
			return nil, err
		}
	}
}

// readLines reads up to n lines, each cut at maxLineShown bytes (noting
// how much was left out) and made valid UTF-8.
func readLines(br *bufio.Reader, n int) ([]string, error) {
	var out []string
	var line []byte
	dropped := 0
	flush := func() {
		s := strings.ToValidUTF8(strings.TrimRight(string(line), "\r\n"), "\uFFFD")
		if dropped > 0 {
			s += fmt.Sprintf(" … (%d more bytes)", dropped)
		}
		out = append(out, s)
		line, dropped = line[:0], 0
	}
	for len(out) < n {
		chunk, err := br.ReadSlice('\n')
		nl := len(chunk) > 0 && chunk[len(chunk)-1] == '\n'
		body := chunk
		if nl {
			body = chunk[:len(chunk)-1]
		}
		take := min(max(0, maxLineShown-len(line)), len(body))
		line = append(line, body[:take]...)
		dropped += len(body) - take
		if nl {
			flush()
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			if len(line) > 0 || dropped > 0 {
				flush()
			}
			return out, nil
		default:
			return out, err
		}
	}
	return out, nil
}
