package jepsen

import (
	"bufio"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"olympos.io/encoding/edn"
)

// valueReader decodes short EDN texts (the value of a log line) with the
// EDN library, reusing one buffer: the library would otherwise allocate
// 4 KiB per value.
type valueReader struct {
	cr countingReader
	br *bufio.Reader
}

func newValueReader() *valueReader {
	v := &valueReader{}
	v.br = bufio.NewReaderSize(&v.cr, 4096)
	return v
}

// first decodes the first EDN value of s and returns it with the length of
// text the decoder consumed (the value and at most one delimiter after it)
// and the decoder, positioned after the value.
func (vr *valueReader) first(s string) (v any, n int, d *edn.Decoder, err error) {
	vr.cr = countingReader{r: strings.NewReader(s)}
	vr.br.Reset(&vr.cr)
	d = edn.NewDecoder(vr.br) // uses vr.br itself: it is big enough
	if err := decodeSafely(d, &v); err != nil {
		if err == io.EOF {
			return nil, 0, nil, fmt.Errorf("no value")
		}
		return nil, 0, nil, fmt.Errorf("%s", ednMessage(err))
	}
	return v, int(vr.cr.n) - vr.br.Buffered(), d, nil
}

// one decodes s, which must hold exactly one EDN value.
func (vr *valueReader) one(s string) (any, error) {
	v, _, d, err := vr.first(s)
	if err != nil {
		return nil, err
	}
	var extra any
	if err := decodeSafely(d, &extra); err != io.EOF {
		return nil, fmt.Errorf("not a single EDN value")
	}
	return v, nil
}

// rawText is EDN text the library could parse but not put into Go values
// (a map keyed by a big integer, or by a tagged collection); it prints as
// itself.
type rawText string

// printEDN renders a decoded EDN value as EDN text, deterministically: map
// entries and set elements are sorted by their text. Lists print as
// vectors (the library does not tell them apart).
func printEDN(v any) string {
	var b strings.Builder
	writeEDN(&b, v)
	return b.String()
}

func writeEDN(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("nil")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case *big.Int:
		b.WriteString(x.String() + "N")
	case big.Int:
		b.WriteString(x.String() + "N")
	case float64:
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eIN") {
			s += ".0"
		}
		b.WriteString(s)
	case *big.Float:
		b.WriteString(x.Text('g', -1) + "M")
	case big.Float:
		b.WriteString(x.Text('g', -1) + "M")
	case string:
		b.WriteString(strconv.Quote(x))
	case int32:
		b.WriteString(charText(x))
	case edn.Keyword:
		b.WriteString(":" + string(x))
	case edn.Symbol:
		b.WriteString(string(x))
	case edn.Tag:
		b.WriteString("#" + x.Tagname + " ")
		writeEDN(b, x.Value)
	case time.Time:
		b.WriteString(`#inst "` + x.UTC().Format(time.RFC3339Nano) + `"`)
	case rawText:
		b.WriteString(string(x))
	case *any: // the library's stand-in for a map key or set element that is a collection
		writeEDN(b, *x)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(' ')
			}
			writeEDN(b, e)
		}
		b.WriteByte(']')
	case map[any]any:
		entries := make([]string, 0, len(x))
		for k, e := range x {
			entries = append(entries, printEDN(k)+" "+printEDN(e))
		}
		sort.Strings(entries)
		b.WriteString("{" + strings.Join(entries, ", ") + "}")
	case map[any]bool:
		elems := make([]string, 0, len(x))
		for k := range x {
			elems = append(elems, printEDN(k))
		}
		sort.Strings(elems)
		b.WriteString("#{" + strings.Join(elems, " ") + "}")
	default:
		fmt.Fprintf(b, "%v", x)
	}
}

func charText(r int32) string {
	switch r {
	case '\n':
		return `\newline`
	case '\r':
		return `\return`
	case ' ':
		return `\space`
	case '\t':
		return `\tab`
	}
	return `\` + string(rune(r))
}

// words is how a nemesis value or an :error reads in our history: a string
// as it is, anything else as EDN text, nil as nil.
func words(v any) *string {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return &x
	}
	s := printEDN(v)
	return &s
}
