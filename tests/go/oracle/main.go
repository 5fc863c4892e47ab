// The differential tests' oracle (tests/integration/go.rs): Go's own
// encoding/json and regexp, as runc, podman and CRI-O use them, answering
// for a batch of inputs read as JSON on stdin, one JSON answer on stdout.
// Standard library only: the tests build it offline.
//
//	oracle fold    [[key, name], ...]  -> [bool, ...]: does encoding/json
//	               decode the object key into the struct field named name?
//	oracle spec    [text, ...]         -> [{"spec": ...} | {"error": ...}]:
//	               each config.json decoded into runc-shaped structs (the
//	               fields the shim reads or writes) and encoded back.
//	oracle regexp  [{"pattern": p, "texts": [t, ...]}, ...]
//	               -> [{"error": e} | {"matches": [bool, ...]}]: regexp.Compile,
//	               then regexp.MatchString on each text.
//	oracle orbits  null -> [[rune, ...], ...]: every case-folding orbit of
//	               more than one code point (unicode.SimpleFold), as (?i)
//	               uses them.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"unicode"
)

// The runtime-spec's types (specs-go/config.go), cut to what the shim
// reads or writes; each field's JSON name is the spec's.
type Hook struct {
	Path    string   `json:"path"`
	Args    []string `json:"args,omitempty"`
	Env     []string `json:"env,omitempty"`
	Timeout *int     `json:"timeout,omitempty"`
}

type Hooks struct {
	Prestart        []Hook `json:"prestart,omitempty"`
	CreateRuntime   []Hook `json:"createRuntime,omitempty"`
	CreateContainer []Hook `json:"createContainer,omitempty"`
	StartContainer  []Hook `json:"startContainer,omitempty"`
	Poststart       []Hook `json:"poststart,omitempty"`
	Poststop        []Hook `json:"poststop,omitempty"`
}

type Process struct {
	Args []string `json:"args,omitempty"`
}

type Mount struct {
	Destination string   `json:"destination"`
	Type        string   `json:"type,omitempty"`
	Source      string   `json:"source,omitempty"`
	Options     []string `json:"options,omitempty"`
}

type Spec struct {
	Version     string            `json:"ociVersion"`
	Hooks       *Hooks            `json:"hooks,omitempty"`
	Process     *Process          `json:"process,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Mounts      []Mount           `json:"mounts,omitempty"`
}

func fold(in []byte) (interface{}, error) {
	var pairs [][2]string
	if err := json.Unmarshal(in, &pairs); err != nil {
		return nil, err
	}
	out := make([]bool, len(pairs))
	for i, p := range pairs {
		// A struct with the one field, made for the name: Go's decoder
		// decides, not a copy of its rule.
		t := reflect.StructOf([]reflect.StructField{{
			Name: "F",
			Type: reflect.TypeOf(json.RawMessage(nil)),
			Tag:  reflect.StructTag(fmt.Sprintf(`json:%q`, p[1])),
		}})
		key, err := json.Marshal(p[0])
		if err != nil {
			return nil, err
		}
		v := reflect.New(t)
		if err := json.Unmarshal([]byte("{"+string(key)+":1}"), v.Interface()); err != nil {
			return nil, err
		}
		out[i] = v.Elem().Field(0).Len() > 0
	}
	return out, nil
}

func spec(in []byte) (interface{}, error) {
	var texts []string
	if err := json.Unmarshal(in, &texts); err != nil {
		return nil, err
	}
	out := make([]map[string]interface{}, len(texts))
	for i, text := range texts {
		var s Spec
		if err := json.Unmarshal([]byte(text), &s); err != nil {
			out[i] = map[string]interface{}{"error": err.Error()}
		} else {
			out[i] = map[string]interface{}{"spec": s}
		}
	}
	return out, nil
}

func match(in []byte) (interface{}, error) {
	var cases []struct {
		Pattern string   `json:"pattern"`
		Texts   []string `json:"texts"`
	}
	if err := json.Unmarshal(in, &cases); err != nil {
		return nil, err
	}
	out := make([]map[string]interface{}, len(cases))
	for i, c := range cases {
		re, err := regexp.Compile(c.Pattern)
		if err != nil {
			out[i] = map[string]interface{}{"error": err.Error()}
			continue
		}
		m := make([]bool, len(c.Texts))
		for j, t := range c.Texts {
			m[j] = re.MatchString(t)
		}
		out[i] = map[string]interface{}{"matches": m}
	}
	return out, nil
}

func orbits(in []byte) (interface{}, error) {
	var out [][]rune
	for c := rune(0); c <= unicode.MaxRune; c++ {
		orbit := []rune{c}
		for f := unicode.SimpleFold(c); f != c; f = unicode.SimpleFold(f) {
			if f < c {
				// Listed once, from its smallest member.
				orbit = nil
				break
			}
			orbit = append(orbit, f)
		}
		if len(orbit) > 1 {
			out = append(out, orbit)
		}
	}
	return out, nil
}

func main() {
	modes := map[string]func([]byte) (interface{}, error){"fold": fold, "spec": spec, "regexp": match, "orbits": orbits}
	if len(os.Args) != 2 || modes[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: oracle fold|spec|regexp|orbits < input.json")
		os.Exit(2)
	}
	in, err := os.ReadFile("/dev/stdin")
	if err == nil {
		var out interface{}
		if out, err = modes[os.Args[1]](in); err == nil {
			err = json.NewEncoder(os.Stdout).Encode(out)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "oracle:", err)
		os.Exit(1)
	}
}
