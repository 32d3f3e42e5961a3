//! Directed graphs drawn left to right in layers: the types, the layout (cycle breaking,
//! layering, ordering, coordinates, edge routing) and the drawing.

use super::*;
use orgata_reports::text::plural;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;

/// A directed graph drawn left to right in layers: a playbook's step DAG (with each step's state)
/// or a directly-follows graph (which has cycles and self-loops).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Graph {
    /// Title, for screen readers (the page shows its own heading).
    pub title: String,
    /// The nodes; only the first of repeated ids and only the first 60 distinct ids are drawn.
    pub nodes: Vec<Node>,
    /// The edges; those naming unknown nodes are left out.
    pub edges: Vec<Edge>,
}

/// One node of a [`Graph`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node {
    /// Identifier that edges refer to.
    pub id: String,
    /// Text in the box (the id when empty).
    pub label: String,
    /// Smaller second line, e.g. "312 cases" or "completed 3 Mar".
    pub detail: Option<String>,
    /// How the node is drawn.
    pub state: NodeState,
    /// Link for the node, if any.
    pub href: Option<String>,
}

/// A node's state, drawn with the CSS class `node-<state>`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum NodeState {
    /// No particular state (`node-plain`).
    #[default]
    Plain,
    /// Finished (`node-done`).
    Done,
    /// In progress (`node-running`).
    Running,
    /// Waiting for something (`node-waiting`).
    Waiting,
    /// Skipped (`node-skipped`).
    Skipped,
    /// Failed (`node-failed`).
    Failed,
    /// Start of a process (`node-start`).
    Start,
    /// End of a process (`node-end`).
    End,
}

impl NodeState {
    fn class(self) -> &'static str {
        match self {
            Self::Plain => "node-plain",
            Self::Done => "node-done",
            Self::Running => "node-running",
            Self::Waiting => "node-waiting",
            Self::Skipped => "node-skipped",
            Self::Failed => "node-failed",
            Self::Start => "node-start",
            Self::End => "node-end",
        }
    }

    fn word(self) -> &'static str {
        match self {
            Self::Plain => "",
            Self::Done => "done",
            Self::Running => "running",
            Self::Waiting => "waiting",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
            Self::Start => "start",
            Self::End => "end",
        }
    }
}

/// One edge of a [`Graph`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Edge {
    /// Id of the source node.
    pub from: String,
    /// Id of the target node.
    pub to: String,
    /// Text at the middle of the edge, e.g. "412 · 3.2 h".
    pub label: Option<String>,
    /// Relative weight: the stroke width grows with it (1–6 px).
    pub weight: f64,
}

// ---------------------------------------------------------------------------------------------
// Graph layout
// ---------------------------------------------------------------------------------------------

/// Geometry of a laid-out [`Graph`] in SVG user units (used by [`graph`] and by tests).
#[derive(Debug, Clone, Default)]
pub(crate) struct Layout {
    /// The drawn nodes: the first of each id, at most 60, in input order.
    pub(crate) nodes: Vec<LaidNode>,
    /// The drawn edges, in input order.
    pub(crate) edges: Vec<LaidEdge>,
    /// The drawing's box: left, top, width, height.
    pub(crate) view: [f64; 4],
    /// Distinct node ids left out past the cap.
    pub(crate) omitted_nodes: usize,
    /// Nodes whose id repeats an earlier one.
    pub(crate) duplicate_nodes: usize,
    /// Edges naming a node that is unknown or left out.
    pub(crate) ignored_edges: usize,
}

/// A placed node: its box, layer and text.
#[derive(Debug, Clone)]
pub(crate) struct LaidNode {
    /// Index into [`Graph::nodes`].
    pub(crate) index: usize,
    /// Layer (column), from 0 at the left.
    pub(crate) layer: usize,
    /// Left edge.
    pub(crate) x: f64,
    /// Top edge.
    pub(crate) y: f64,
    /// Box width.
    pub(crate) width: f64,
    /// Box height.
    pub(crate) height: f64,
    label: String,
    detail: Option<String>,
}

/// A routed edge: its path, stroke and label box.
#[derive(Debug, Clone)]
pub(crate) struct LaidEdge {
    /// Index into [`Graph::edges`].
    pub(crate) index: usize,
    /// Source, as an index into [`Layout::nodes`].
    pub(crate) from: usize,
    /// Target, as an index into [`Layout::nodes`].
    pub(crate) to: usize,
    /// Whether it closes a cycle (drawn right to left); self-loops count as back edges too.
    pub(crate) back: bool,
    /// SVG path data.
    pub(crate) path: String,
    /// Stroke width, 1–6.
    pub(crate) stroke: f64,
    arrow: usize,
    label: Option<LabelBox>,
}

/// An edge label's background box and text.
#[derive(Debug, Clone)]
struct LabelBox {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    text: String,
}

/// A vertex of the layered graph: a real node or a dummy on a long edge.
#[derive(Debug, Clone)]
struct Vert {
    layer: usize,
    w: f64,
    h: f64,
    real: bool,
    /// Extra room above the node for a self-loop and its label.
    room: f64,
}

/// An edge as a chain of vertices in layer order (for back edges: reversed).
#[derive(Debug, Clone)]
struct Chain {
    edge: usize,
    verts: Vec<usize>,
    back: bool,
    from: usize,
    to: usize,
}

type Pt = (f64, f64);

/// One cubic Bézier segment.
#[derive(Debug, Clone, Copy)]
struct Cubic {
    p0: Pt,
    c1: Pt,
    c2: Pt,
    p1: Pt,
}

impl Cubic {
    fn at(&self, t: f64) -> Pt {
        let u = 1.0 - t;
        let (a, b, c, d) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
        (
            a * self.p0.0 + b * self.c1.0 + c * self.c2.0 + d * self.p1.0,
            a * self.p0.1 + b * self.c1.1 + c * self.c2.1 + d * self.p1.1,
        )
    }
}

/// A curve between two points with horizontal tangents at both ends; with `bulge`, it dips below both.
fn hop(p0: Pt, p1: Pt, bulge: bool) -> Vec<Cubic> {
    let horizontal = |a: Pt, b: Pt| {
        let mx = (a.0 + b.0) / 2.0;
        Cubic { p0: a, c1: (mx, a.1), c2: (mx, b.1), p1: b }
    };
    if bulge {
        let m = ((p0.0 + p1.0) / 2.0, p0.1.max(p1.1) + 18.0);
        vec![horizontal(p0, m), horizontal(m, p1)]
    } else {
        vec![horizontal(p0, p1)]
    }
}

/// The y of a hop (x-monotonic cubics) at x, by bisection.
fn y_at_x(curves: &[Cubic], x: f64) -> f64 {
    for c in curves {
        let (a, b) = (c.p0.0.min(c.p1.0), c.p0.0.max(c.p1.0));
        if x < a || x > b {
            continue;
        }
        let increasing = c.p1.0 >= c.p0.0;
        let (mut lo, mut hi) = (0.0, 1.0);
        for _ in 0..40 {
            let mid = (lo + hi) / 2.0;
            if (c.at(mid).0 < x) == increasing {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return c.at((lo + hi) / 2.0).1;
    }
    curves.first().map_or(0.0, |c| c.at(0.5).1)
}

/// Arrowhead length and half-width for a stroke bucket.
fn arrow_size(bucket: usize) -> (f64, f64) {
    let b = bucket as f64;
    (7.0 + 1.3 * b, 3.5 + 0.9 * b)
}

/// Places items in order with minimum separations, as close as possible (weighted least squares)
/// to their desired positions: isotonic regression by pool-adjacent-violators.
fn pava_place(desired: &[f64], weights: &[f64], seps: &[f64]) -> Vec<f64> {
    let mut offsets = Vec::with_capacity(desired.len());
    let mut acc = 0.0;
    for s in seps {
        acc += s;
        offsets.push(acc);
    }
    let mut blocks: Vec<(f64, f64, usize)> = Vec::new();
    for ((d, w), o) in desired.iter().zip(weights).zip(&offsets) {
        blocks.push((*w, w * (d - o), 1));
        while let [.., a, b] = blocks[..] {
            if a.1 / a.0 > b.1 / b.0 {
                blocks.pop();
                if let Some(last) = blocks.last_mut() {
                    *last = (a.0 + b.0, a.1 + b.1, a.2 + b.2);
                }
            } else {
                break;
            }
        }
    }
    let mut out = Vec::with_capacity(desired.len());
    for (w, wt, len) in blocks {
        out.extend(std::iter::repeat_n(wt / w, len));
    }
    out.iter_mut().zip(&offsets).for_each(|(z, o)| *z += o);
    out
}

/// Edge crossings between adjacent layers (inversions counted with a Fenwick tree).
fn crossings(layers: &[Vec<usize>], down: &[Vec<usize>], pos: &[usize]) -> u64 {
    let mut total = 0u64;
    for pair in layers.windows(2) {
        let mut edges: Vec<(usize, usize)> =
            pair[0].iter().flat_map(|&p| down[p].iter().map(move |&q| (pos[p], pos[q]))).collect();
        edges.sort_unstable();
        let mut tree = vec![0u64; pair[1].len() + 1];
        for (seen, &(_, q)) in edges.iter().enumerate() {
            let mut le = 0;
            let mut i = q + 1;
            while i > 0 {
                le += tree.get(i).copied().unwrap_or(0);
                i &= i - 1;
            }
            total += (seen as u64).saturating_sub(le);
            let mut i = q + 1;
            while let Some(slot) = tree.get_mut(i) {
                *slot += 1;
                i += i & i.wrapping_neg();
            }
        }
    }
    total
}

/// Sorts a layer by the barycenter of each vertex's neighbours (vertices without any keep their place).
fn reorder(layer: &mut [usize], nbrs: &[Vec<usize>], pos: &mut [usize]) {
    let mut keyed: Vec<(f64, usize, usize)> = layer
        .iter()
        .map(|&v| {
            let ns = &nbrs[v];
            let key = if ns.is_empty() {
                pos[v] as f64
            } else {
                ns.iter().map(|&u| pos[u] as f64).sum::<f64>() / ns.len() as f64
            };
            (key, pos[v], v)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for (i, (slot, (_, _, v))) in layer.iter_mut().zip(keyed).enumerate() {
        *slot = v;
        pos[v] = i;
    }
}

/// A node's display name: its label, or its id when the label is blank.
fn node_name(node: &Node) -> String {
    or_default(&node.label, || node.id.trim().to_string())
}

/// Lays out a graph, one phase after the other: which nodes and edges are drawn, cycle breaking,
/// longest-path layering, the layered graph with its dummy vertices, barycenter ordering, vertical
/// then horizontal coordinates, and edge routing.
pub(crate) fn layout(g: &Graph) -> Layout {
    let picked = pick(g);
    let back = break_cycles(&picked);
    let (layer, layer_count) = assign_layers(&picked, &back);
    let layered = layered_graph(&picked, &back, &layer, layer_count);
    let layers = order_layers(&layered);
    let cy = vertical_positions(&layered, &layers);
    let columns = columns(g, &layered);
    route(&picked, &layered, &cy, &columns)
}

/// The nodes and edges a layout draws, picked from a graph's.
struct Picked<'g> {
    g: &'g Graph,
    /// Indices into [`Graph::nodes`] of the drawn nodes: the first of each id, at most
    /// [`MAX_NODES`]. A drawn node is named by its place in this list.
    kept: Vec<usize>,
    /// Edges between two different drawn nodes: (index into [`Graph::edges`], from, to).
    real: Vec<(usize, usize, usize)>,
    /// Self-loops: (index into [`Graph::edges`], node).
    loops: Vec<(usize, usize)>,
    omitted_nodes: usize,
    duplicate_nodes: usize,
    ignored_edges: usize,
}

impl Picked<'_> {
    fn node(&self, v: usize) -> &Node {
        &self.g.nodes[self.kept[v]]
    }

    fn is_start(&self, v: usize) -> bool {
        self.node(v).state == NodeState::Start
    }
}

/// Picks the drawn nodes (the first of each id, at most [`MAX_NODES`]) and the edges between them,
/// self-loops apart; counts what is left out.
fn pick(g: &Graph) -> Picked<'_> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut kept: Vec<usize> = Vec::new();
    let (mut omitted_nodes, mut duplicate_nodes) = (0, 0);
    for (i, node) in g.nodes.iter().enumerate() {
        if !seen.insert(node.id.as_str()) {
            duplicate_nodes += 1;
        } else if kept.len() < MAX_NODES {
            index.insert(node.id.as_str(), kept.len());
            kept.push(i);
        } else {
            omitted_nodes += 1;
        }
    }
    let mut real: Vec<(usize, usize, usize)> = Vec::new();
    let mut loops: Vec<(usize, usize)> = Vec::new();
    let mut ignored_edges = 0;
    for (ei, e) in g.edges.iter().enumerate() {
        match (index.get(e.from.as_str()), index.get(e.to.as_str())) {
            (Some(&a), Some(&b)) if a == b => loops.push((ei, a)),
            (Some(&a), Some(&b)) => real.push((ei, a, b)),
            _ => ignored_edges += 1,
        }
    }
    Picked { g, kept, real, loops, omitted_nodes, duplicate_nodes, ignored_edges }
}

/// Cycle breaking: a DFS from the start nodes, then the sources, then the rest, each in input
/// order; an edge to a vertex on the DFS stack is a back edge. Returns, per edge of
/// [`Picked::real`], whether it is one; reversing those leaves the graph acyclic.
fn break_cycles(p: &Picked) -> Vec<bool> {
    let n = p.kept.len();
    let mut out: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    let mut indeg = vec![0usize; n];
    for (k, &(_, a, b)) in p.real.iter().enumerate() {
        out[a].push((k, b));
        indeg[b] += 1;
    }
    let roots = (0..n)
        .filter(|&v| p.is_start(v))
        .chain((0..n).filter(|&v| !p.is_start(v) && indeg[v] == 0))
        .chain((0..n).filter(|&v| !p.is_start(v) && indeg[v] > 0));
    let mut state = vec![0u8; n];
    let mut back = vec![false; p.real.len()];
    for r in roots {
        if state[r] != 0 {
            continue;
        }
        state[r] = 1;
        let mut stack = vec![(r, 0usize)];
        while let Some(&(v, i)) = stack.last() {
            if let Some(&(k, t)) = out[v].get(i) {
                if let Some(top) = stack.last_mut() {
                    top.1 += 1;
                }
                match state[t] {
                    0 => {
                        state[t] = 1;
                        stack.push((t, 0));
                    }
                    1 => back[k] = true,
                    _ => {}
                }
            } else {
                state[v] = 2;
                stack.pop();
            }
        }
    }
    back
}

/// Layering by longest path over the acyclic edges (Kahn's order); sources other than start nodes
/// move right, next to their first successor; end nodes without successors go to the last layer.
/// Returns each node's layer, numbered without gaps from 0, and the number of layers (at least 1).
fn assign_layers(p: &Picked, back: &[bool]) -> (Vec<usize>, usize) {
    let n = p.kept.len();
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut pred: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (k, &(_, a, b)) in p.real.iter().enumerate() {
        let (s, t) = if back[k] { (b, a) } else { (a, b) };
        succ[s].push(t);
        pred[t].push(s);
    }
    let mut din: Vec<usize> = pred.iter().map(Vec::len).collect();
    let mut queue: VecDeque<usize> = (0..n).filter(|&v| din[v] == 0).collect();
    let mut topo = Vec::with_capacity(n);
    let mut layer = vec![0usize; n];
    while let Some(v) = queue.pop_front() {
        topo.push(v);
        for &s in &succ[v] {
            layer[s] = layer[s].max(layer[v] + 1);
            din[s] = din[s].saturating_sub(1);
            if din[s] == 0 {
                queue.push_back(s);
            }
        }
    }
    for &v in &topo {
        if pred[v].is_empty()
            && !p.is_start(v)
            && let Some(m) = succ[v].iter().map(|&s| layer[s]).min()
        {
            layer[v] = layer[v].max(m.saturating_sub(1));
        }
    }
    let max_layer = layer.iter().copied().max().unwrap_or(0);
    for v in 0..n {
        if succ[v].is_empty() && p.node(v).state == NodeState::End {
            layer[v] = max_layer;
        }
    }
    let mut used: Vec<usize> = layer.clone();
    used.sort_unstable();
    used.dedup();
    for l in &mut layer {
        *l = used.binary_search(l).unwrap_or(0);
    }
    (layer, used.len().max(1))
}

/// The layered graph: a vertex per drawn node (same index), sized for its texts, then a dummy
/// vertex in each layer a long edge crosses; every edge as a chain of vertices; and the links
/// between adjacent layers.
struct Layered {
    /// Each drawn node's label and detail, shortened to fit.
    texts: Vec<(String, Option<String>)>,
    verts: Vec<Vert>,
    chains: Vec<Chain>,
    /// Each vertex's neighbours in the layer before it, and in the layer after it.
    up: Vec<Vec<usize>>,
    down: Vec<Vec<usize>>,
    layer_count: usize,
}

impl Layered {
    /// The distance between the centres of two vertices adjacent in a layer, `b` below `a`.
    fn sep(&self, a: usize, b: usize) -> f64 {
        let (va, vb) = (&self.verts[a], &self.verts[b]);
        let gap = match (va.real, vb.real) {
            (true, true) => 26.0,
            (false, false) => 10.0,
            _ => 16.0,
        };
        va.h / 2.0 + vb.h / 2.0 + gap + vb.room
    }

    /// The gap (after which layer) where a chain's label goes: that of its middle hop.
    fn label_gap(&self, ch: &Chain) -> Option<usize> {
        let hops = ch.verts.len().saturating_sub(1).max(1);
        let mid = (hops - 1) / 2;
        let (first, last) = (self.verts[ch.verts[0]].layer, self.verts[ch.verts[ch.verts.len() - 1]].layer);
        if ch.back { last.checked_sub(1 + mid) } else { Some(first + mid) }
    }
}

/// The layered graph from the layering: each drawn node a vertex (its index kept), sized for its
/// shortened texts, with room above for its self-loops; each edge a chain in layer order (back
/// edges reversed), with a dummy vertex in every layer it crosses. Guarantees that dummies come
/// after the nodes, and that `up` and `down` link the adjacent-layer pairs of every chain.
fn layered_graph(p: &Picked, back: &[bool], layer: &[usize], layer_count: usize) -> Layered {
    let n = p.kept.len();
    let mut loop_count = vec![0usize; n];
    for &(_, v) in &p.loops {
        loop_count[v] += 1;
    }
    let texts: Vec<(String, Option<String>)> = (0..n)
        .map(|v| {
            let nd = p.node(v);
            let label = truncate(&node_name(nd), 180.0, 12.0);
            let detail =
                nd.detail.as_deref().map(str::trim).filter(|d| !d.is_empty()).map(|d| truncate(d, 180.0, 11.0));
            (label, detail)
        })
        .collect();
    let mut verts: Vec<Vert> = (0..n)
        .map(|v| {
            let (label, detail) = &texts[v];
            let tw = text_width(label, 12.0).max(detail.as_deref().map_or(0.0, |d| text_width(d, 11.0)));
            Vert {
                layer: layer[v],
                w: (tw + 24.0).max(56.0),
                h: if detail.is_some() { 46.0 } else { 32.0 },
                real: true,
                room: if loop_count[v] > 0 { 46.0 } else { 0.0 },
            }
        })
        .collect();
    let mut chains: Vec<Chain> = Vec::with_capacity(p.real.len());
    for (k, &(ei, a, b)) in p.real.iter().enumerate() {
        let (s, t) = if back[k] { (b, a) } else { (a, b) };
        let mut vs = vec![s];
        for l in verts[s].layer + 1..verts[t].layer {
            verts.push(Vert { layer: l, w: 0.0, h: 0.0, real: false, room: 0.0 });
            vs.push(verts.len() - 1);
        }
        vs.push(t);
        chains.push(Chain { edge: ei, verts: vs, back: back[k], from: a, to: b });
    }
    let nv = verts.len();
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); nv];
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); nv];
    for ch in &chains {
        for pair in ch.verts.windows(2) {
            if verts[pair[1]].layer == verts[pair[0]].layer + 1 {
                down[pair[0]].push(pair[1]);
                up[pair[1]].push(pair[0]);
            }
        }
    }
    Layered { texts, verts, chains, up, down, layer_count }
}

/// Each vertex's place in its layer, from the layers' order.
fn positions(layers: &[Vec<usize>], pos: &mut [usize]) {
    for l in layers {
        for (i, &v) in l.iter().enumerate() {
            pos[v] = i;
        }
    }
}

/// Ordering within layers: barycenter sweeps down and up, keeping the order with the fewest
/// crossings seen (the input order when none is better). Returns the vertices of each layer, top
/// to bottom.
fn order_layers(l: &Layered) -> Vec<Vec<usize>> {
    let nv = l.verts.len();
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); l.layer_count];
    for (v, vert) in l.verts.iter().enumerate() {
        if let Some(layer) = layers.get_mut(vert.layer) {
            layer.push(v);
        }
    }
    let mut pos = vec![0usize; nv];
    positions(&layers, &mut pos);
    let mut best = layers.clone();
    let mut best_crossings = crossings(&layers, &l.down, &pos);
    let rounds = if nv > 3000 { 1 } else { 6 };
    for _ in 0..rounds {
        if best_crossings == 0 {
            break;
        }
        for layer in layers.iter_mut().skip(1) {
            reorder(layer, &l.up, &mut pos);
        }
        for layer in layers.iter_mut().rev().skip(1) {
            reorder(layer, &l.down, &mut pos);
        }
        let c = crossings(&layers, &l.down, &pos);
        if c < best_crossings {
            best_crossings = c;
            best = layers.clone();
        }
    }
    best
}

/// Vertical positions (centres): each layer stacked and centred on 0, then each vertex aligned
/// with its neighbours as far as the order and spacing allow (sweeps with the layer before, the
/// layer after, then both).
fn vertical_positions(l: &Layered, layers: &[Vec<usize>]) -> Vec<f64> {
    let mut cy = vec![0.0f64; l.verts.len()];
    for layer in layers {
        let mut y = 0.0;
        for (i, &v) in layer.iter().enumerate() {
            if i > 0 {
                y += l.sep(layer[i - 1], v);
            }
            cy[v] = y;
        }
        let mid = y / 2.0;
        for &v in layer {
            cy[v] -= mid;
        }
    }
    let align = |layer: &[usize], cy: &mut [f64], use_up: bool, use_down: bool| {
        let mut desired = Vec::with_capacity(layer.len());
        let mut weights = Vec::with_capacity(layer.len());
        let mut seps = Vec::with_capacity(layer.len());
        for (i, &v) in layer.iter().enumerate() {
            let mut nbrs: Vec<usize> = Vec::new();
            if use_up {
                nbrs.extend(&l.up[v]);
            }
            if use_down {
                nbrs.extend(&l.down[v]);
            }
            if nbrs.is_empty() {
                desired.push(cy[v]);
                weights.push(0.25);
            } else {
                desired.push(nbrs.iter().map(|&u| cy[u]).sum::<f64>() / nbrs.len() as f64);
                weights.push(if l.verts[v].real { 1.0 } else { 2.0 });
            }
            seps.push(if i == 0 { 0.0 } else { l.sep(layer[i - 1], v) });
        }
        for (&v, y) in layer.iter().zip(pava_place(&desired, &weights, &seps)) {
            cy[v] = y;
        }
    };
    for _ in 0..6 {
        for layer in layers.iter().skip(1) {
            align(layer, &mut cy, true, false);
        }
        for layer in layers.iter().rev().skip(1) {
            align(layer, &mut cy, false, true);
        }
    }
    for _ in 0..2 {
        for layer in layers {
            align(layer, &mut cy, true, true);
        }
    }
    cy
}

/// An edge's label, trimmed and shortened to fit; none when blank.
fn edge_label(g: &Graph, ei: usize) -> Option<String> {
    g.edges[ei].label.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(|t| truncate(t, 160.0, 11.0))
}

/// Horizontal positions: each layer a column as wide as its widest node, the gap after it wide
/// enough for the labels placed there.
struct Columns {
    /// Left edge of each column.
    x: Vec<f64>,
    /// Width of each column.
    w: Vec<f64>,
}

impl Columns {
    /// A vertex's left edge: centred in its column.
    fn node_x(&self, l: &Layered, v: usize) -> f64 {
        let vert = &l.verts[v];
        self.x[vert.layer] + (self.w[vert.layer] - vert.w) / 2.0
    }
}

/// Horizontal coordinates: the columns left to right from 0, each as wide as its widest node (at
/// least 16), each followed by a gap of at least 64, widened to fit the edge labels placed in it.
/// Guarantees that the columns are in layer order and never overlap.
fn columns(g: &Graph, l: &Layered) -> Columns {
    let nl = l.layer_count;
    let mut col_w = vec![16.0f64; nl];
    for vert in l.verts.iter().filter(|v| v.real) {
        if let Some(c) = col_w.get_mut(vert.layer) {
            *c = c.max(vert.w);
        }
    }
    let mut gap_w = vec![64.0f64; nl];
    for ch in &l.chains {
        if let (Some(text), Some(gi)) = (edge_label(g, ch.edge), l.label_gap(ch))
            && let Some(gw) = gap_w.get_mut(gi)
        {
            *gw = gw.max(text_width(&text, 11.0) + 10.0 + 48.0);
        }
    }
    let mut col_x = vec![0.0f64; nl];
    let mut x = 0.0;
    for i in 0..nl {
        col_x[i] = x;
        x += col_w[i] + gap_w[i];
    }
    Columns { x: col_x, w: col_w }
}

/// Stroke widths from the edges' weights: 1–6 px in proportion to the heaviest drawn edge; 1.5 px
/// when all weigh the same.
struct Strokes<'g> {
    g: &'g Graph,
    min: f64,
    max: f64,
}

impl<'g> Strokes<'g> {
    fn new(p: &Picked<'g>) -> Self {
        let g = p.g;
        let drawn = p.real.iter().map(|r| r.0).chain(p.loops.iter().map(|l| l.0));
        let weights = drawn.map(|ei| Self::weight(g, ei));
        let (min, max) = weights.fold((f64::INFINITY, 0.0f64), |(lo, hi), w| (lo.min(w), hi.max(w)));
        Strokes { g, min, max }
    }

    fn weight(g: &Graph, ei: usize) -> f64 {
        let w = g.edges[ei].weight;
        if w.is_finite() && w > 0.0 { w } else { 0.0 }
    }

    fn width(&self, ei: usize) -> f64 {
        if self.max <= 0.0 || self.max - self.min <= self.max * 1e-9 {
            1.5
        } else {
            1.0 + 5.0 * Self::weight(self.g, ei) / self.max
        }
    }
}

/// A stroke width's arrowhead bucket, 1–6.
fn bucket(stroke: f64) -> usize {
    (stroke.round() as usize).clamp(1, 6)
}

/// What has been drawn so far: its bounding box, and the label boxes placed (which later labels
/// avoid).
struct Canvas {
    /// Left, top, right, bottom.
    bbox: [f64; 4],
    placed: Vec<[f64; 4]>,
}

impl Canvas {
    fn grow(&mut self, p: Pt) {
        self.bbox[0] = self.bbox[0].min(p.0);
        self.bbox[1] = self.bbox[1].min(p.1);
        self.bbox[2] = self.bbox[2].max(p.0);
        self.bbox[3] = self.bbox[3].max(p.1);
    }

    /// The drawing's box with a margin, at least [`WIDTH`] wide (centred).
    fn view(&self) -> [f64; 4] {
        let bbox = self.bbox;
        if bbox[0].is_finite() && bbox[2] >= bbox[0] {
            let (mut x0, y0) = (bbox[0] - 16.0, bbox[1] - 16.0);
            let (mut w, h) = (bbox[2] - bbox[0] + 32.0, bbox[3] - bbox[1] + 32.0);
            if w < WIDTH {
                x0 -= (WIDTH - w) / 2.0;
                w = WIDTH;
            }
            [x0, y0, w, h]
        } else {
            [0.0, 0.0, WIDTH, 120.0]
        }
    }
}

/// Where each chain leaves its first node (on the node's right side) and enters its last (on the
/// left side): a side's edges spread evenly over its height, in the order of the vertices they go
/// to, so that they do not cross at the node.
fn ports(l: &Layered, node_count: usize, cy: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let chains = &l.chains;
    let mut port_right = vec![0.0f64; chains.len()];
    let mut port_left = vec![0.0f64; chains.len()];
    let mut right_side: Vec<Vec<usize>> = vec![Vec::new(); node_count];
    let mut left_side: Vec<Vec<usize>> = vec![Vec::new(); node_count];
    for (ci, ch) in chains.iter().enumerate() {
        right_side[ch.verts[0]].push(ci);
        left_side[ch.verts[ch.verts.len() - 1]].push(ci);
    }
    let neighbour_y = |ci: usize, right: bool| {
        let vs = &chains[ci].verts;
        cy[vs[if right { 1 } else { vs.len() - 2 }]]
    };
    for v in 0..node_count {
        let top = cy[v] - l.verts[v].h / 2.0;
        let h = l.verts[v].h;
        for right in [true, false] {
            let side = if right { &mut right_side[v] } else { &mut left_side[v] };
            side.sort_by(|&a, &b| {
                neighbour_y(a, right)
                    .total_cmp(&neighbour_y(b, right))
                    .then(chains[a].back.cmp(&chains[b].back))
                    .then(a.cmp(&b))
            });
            let ports = if right { &mut port_right } else { &mut port_left };
            let k = side.len() as f64;
            for (i, &ci) in side.iter().enumerate() {
                ports[ci] = top + h * (i as f64 + 1.0) / (k + 1.0);
            }
        }
    }
    (port_right, port_left)
}

/// Edge routing and the final geometry: the nodes' boxes, each self-loop as a hump over its node,
/// each chain as cubic hops across the gaps and straight runs through dummy columns, labels where
/// they clear the others, and the box around it all.
fn route(p: &Picked, l: &Layered, cy: &[f64], columns: &Columns) -> Layout {
    let n = p.kept.len();
    let mut canvas =
        Canvas { bbox: [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY], placed: Vec::new() };
    let nodes: Vec<LaidNode> = (0..n)
        .map(|v| {
            let vert = &l.verts[v];
            let (x, y) = (columns.node_x(l, v), cy[v] - vert.h / 2.0);
            canvas.grow((x, y));
            canvas.grow((x + vert.w, y + vert.h));
            LaidNode {
                index: p.kept[v],
                layer: vert.layer,
                x,
                y,
                width: vert.w,
                height: vert.h,
                label: l.texts[v].0.clone(),
                detail: l.texts[v].1.clone(),
            }
        })
        .collect();
    let strokes = Strokes::new(p);
    let mut edges: Vec<LaidEdge> = Vec::with_capacity(p.real.len() + p.loops.len());
    for &(ei, v) in &p.loops {
        edges.push(self_loop(p.g, ei, v, &nodes[v], strokes.width(ei), &mut canvas));
    }
    let (port_right, port_left) = ports(l, n, cy);
    for (ci, ch) in l.chains.iter().enumerate() {
        let ends = (port_right[ci], port_left[ci]);
        edges.push(chain_edge(p.g, (l, cy, columns), ch, ends, strokes.width(ch.edge), &mut canvas));
    }
    edges.sort_by_key(|e| e.index);
    Layout {
        nodes,
        edges,
        view: canvas.view(),
        omitted_nodes: p.omitted_nodes,
        duplicate_nodes: p.duplicate_nodes,
        ignored_edges: p.ignored_edges,
    }
}

/// A self-loop: a hump over the node's top, its label above.
fn self_loop(g: &Graph, ei: usize, v: usize, nd: &LaidNode, stroke: f64, canvas: &mut Canvas) -> LaidEdge {
    let (len, _) = arrow_size(bucket(stroke));
    let cx = nd.x + nd.width / 2.0;
    let (x1, x2, y) = (cx - 14.0, cx + 14.0, nd.y);
    let curve = Cubic { p0: (x1, y), c1: (x1, y - 34.0), c2: (x2, y - 34.0), p1: (x2, y - len) };
    canvas.grow(curve.c1);
    canvas.grow(curve.c2);
    let label = edge_label(g, ei).map(|text| {
        let w = text_width(&text, 11.0) + 10.0;
        let b = LabelBox { x: cx - w / 2.0, y: y - 34.0 - 16.0, w, h: 16.0, text };
        canvas.placed.push([b.x, b.y, b.w, b.h]);
        canvas.grow((b.x, b.y));
        canvas.grow((b.x + b.w, b.y + b.h));
        b
    });
    let path = format!(
        "M{},{} C{},{} {},{} {},{}",
        num(curve.p0.0),
        num(curve.p0.1),
        num(curve.c1.0),
        num(curve.c1.1),
        num(curve.c2.0),
        num(curve.c2.1),
        num(curve.p1.0),
        num(curve.p1.1)
    );
    LaidEdge { index: ei, from: v, to: v, back: true, path, stroke, arrow: bucket(stroke), label }
}

/// A chain: cubic hops across the gaps, straight runs through dummy columns, the arrow's room left
/// at the end (a back edge without dummies dips below both nodes); its label on the middle hop.
fn chain_edge(
    g: &Graph,
    (l, cy, columns): (&Layered, &[f64], &Columns),
    ch: &Chain,
    (port_right, port_left): (f64, f64),
    stroke: f64,
    canvas: &mut Canvas,
) -> LaidEdge {
    let (col_x, col_w) = (&columns.x, &columns.w);
    let (first, last) = (ch.verts[0], ch.verts[ch.verts.len() - 1]);
    let inner = &ch.verts[1..ch.verts.len() - 1];
    let right_of = |v: usize| columns.node_x(l, v) + l.verts[v].w;
    let (start, end, runs): (Pt, Pt, Vec<(Pt, Pt)>) = if ch.back {
        let runs = inner
            .iter()
            .rev()
            .map(|&d| {
                let layer = l.verts[d].layer;
                ((col_x[layer] + col_w[layer], cy[d]), (col_x[layer], cy[d]))
            })
            .collect();
        ((columns.node_x(l, last), port_left), (right_of(first), port_right), runs)
    } else {
        let runs = inner
            .iter()
            .map(|&d| {
                let layer = l.verts[d].layer;
                ((col_x[layer], cy[d]), (col_x[layer] + col_w[layer], cy[d]))
            })
            .collect();
        ((right_of(first), port_right), (columns.node_x(l, last), port_left), runs)
    };
    let (len, _) = arrow_size(bucket(stroke));
    let mut hops: Vec<Vec<Cubic>> = Vec::with_capacity(runs.len() + 1);
    let mut d = format!("M{},{}", num(start.0), num(start.1));
    let mut cur = start;
    let push_hop = |d: &mut String, curves: &[Cubic]| {
        for c in curves {
            w!(d, " C{},{} {},{} {},{}", num(c.c1.0), num(c.c1.1), num(c.c2.0), num(c.c2.1), num(c.p1.0), num(c.p1.1));
        }
    };
    for &(entry, exit) in &runs {
        let h = hop(cur, entry, false);
        push_hop(&mut d, &h);
        hops.push(h);
        w!(d, " L{},{}", num(exit.0), num(exit.1));
        cur = exit;
    }
    let dir = if end.0 >= cur.0 { 1.0 } else { -1.0 };
    let h = hop(cur, (end.0 - dir * len, end.1), ch.back && runs.is_empty());
    push_hop(&mut d, &h);
    hops.push(h);
    for c in hops.iter().flatten() {
        canvas.grow(c.p0);
        canvas.grow(c.c1);
        canvas.grow(c.c2);
        canvas.grow(c.p1);
    }
    let label = edge_label(g, ch.edge).map(|text| {
        let hi = (hops.len().saturating_sub(1)) / 2;
        let curves = hops.get(hi).map_or(&[][..], Vec::as_slice);
        let region = l
            .label_gap(ch)
            .filter(|&gi| gi + 1 < l.layer_count)
            .map(|gi| (col_x[gi] + col_w[gi], col_x[gi + 1]))
            .unwrap_or((f64::NAN, f64::NAN));
        place_label(text, curves, region, cur, &mut canvas.placed)
    });
    if let Some(b) = &label {
        canvas.grow((b.x, b.y));
        canvas.grow((b.x + b.w, b.y + b.h));
    }
    LaidEdge { index: ch.edge, from: ch.from, to: ch.to, back: ch.back, path: d, stroke, arrow: bucket(stroke), label }
}

/// A label on a hop, centred in its gap `region` (left, right; NaN: none), nudged up to 30 units
/// sideways and 10 up or down to clear the labels `placed` before it; where nothing clears, at the
/// centre anyway (or, without a gap, on the hop's middle; `cur` for no hop at all).
fn place_label(text: String, curves: &[Cubic], region: (f64, f64), cur: Pt, placed: &mut Vec<[f64; 4]>) -> LabelBox {
    let w = text_width(&text, 11.0) + 10.0;
    let centre = (region.0 + region.1) / 2.0;
    let mut choice = None;
    let candidates = if centre.is_finite() { &[0.0, -10.0, 10.0][..] } else { &[][..] };
    'search: for &dy in candidates {
        for dx in [0.0, -10.0, 10.0, -20.0, 20.0, -30.0, 30.0] {
            let x = centre + dx;
            if x - w / 2.0 < region.0 + 18.0 || x + w / 2.0 > region.1 - 18.0 {
                continue;
            }
            let b = [x - w / 2.0, y_at_x(curves, x) + dy - 8.0, w, 16.0];
            let clear = placed.iter().all(|p| {
                b[0] + b[2] + 2.0 <= p[0]
                    || p[0] + p[2] + 2.0 <= b[0]
                    || b[1] + b[3] + 2.0 <= p[1]
                    || p[1] + p[3] + 2.0 <= b[1]
            });
            if clear {
                choice = Some(b);
                break 'search;
            }
        }
    }
    let b = choice.unwrap_or_else(|| {
        let (x, y) = if centre.is_finite() {
            (centre, y_at_x(curves, centre))
        } else {
            curves.first().map_or(cur, |c| c.at(0.5))
        };
        [x - w / 2.0, y - 8.0, w, 16.0]
    });
    placed.push(b);
    LabelBox { x: b[0], y: b[1], w: b[2], h: b[3], text }
}

/// Draws a directed graph left to right in layers (see [`Graph`]).
pub fn graph(g: &Graph) -> String {
    let lay = layout(g);
    if lay.nodes.is_empty() {
        return no_data("graph", &g.title);
    }
    let mut body = String::from("<defs>");
    let mut buckets: Vec<usize> = lay.edges.iter().map(|e| e.arrow).collect();
    buckets.sort_unstable();
    buckets.dedup();
    for b in buckets {
        let (len, half) = arrow_size(b);
        w!(
            body,
            "<marker id=\"{ID}-arrow-{b}\" viewBox=\"0 0 10 10\" refX=\"0\" refY=\"5\" markerUnits=\"userSpaceOnUse\" \
             markerWidth=\"{}\" markerHeight=\"{}\" orient=\"auto\" preserveAspectRatio=\"none\">\
             <path class=\"edge-arrow\" d=\"M0,0 L10,5 L0,10 z\"/></marker>",
            num(len),
            num(half * 2.0)
        );
    }
    body.push_str("</defs>");
    let name = |v: usize| node_name(&g.nodes[lay.nodes[v].index]);
    let edge_title = |e: &LaidEdge| {
        let mut t = format!("{} → {}", truncate(&name(e.from), 1400.0, 12.0), truncate(&name(e.to), 1400.0, 12.0));
        if let Some(label) = g.edges[e.index].label.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
            w!(t, ": {label}");
        }
        t
    };

    body.push_str("<g class=\"edges\">");
    for e in &lay.edges {
        let mut class = String::from("edge");
        if e.from == e.to {
            class.push_str(" edge-self");
        } else if e.back {
            class.push_str(" edge-back");
        }
        w!(
            body,
            "<g class=\"{class}\"><title>{}</title><path class=\"edge-hit\" fill=\"none\" d=\"{}\"/>\
             <path class=\"edge-line\" fill=\"none\" stroke-width=\"{}\" marker-end=\"url(#{ID}-arrow-{})\" d=\"{}\"/></g>",
            esc(&edge_title(e)),
            e.path,
            num(e.stroke),
            e.arrow,
            e.path
        );
    }
    body.push_str("</g><g class=\"edge-labels\">");
    for e in &lay.edges {
        if let Some(b) = &e.label {
            w!(
                body,
                "<g class=\"edge-label\"><title>{}</title><rect class=\"edge-label-bg\" x=\"{}\" y=\"{}\" width=\"{}\" \
                 height=\"{}\" rx=\"3\"/><text class=\"edge-label-text\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" \
                 dy=\"0.35em\">{}</text></g>",
                esc(&edge_title(e)),
                num(b.x),
                num(b.y),
                num(b.w),
                num(b.h),
                num(b.x + b.w / 2.0),
                num(b.y + b.h / 2.0),
                esc(&b.text)
            );
        }
    }
    body.push_str("</g><g class=\"nodes\">");
    for nd in &lay.nodes {
        let src = &g.nodes[nd.index];
        let mut title = node_name(src);
        if let Some(detail) = src.detail.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            w!(title, " — {detail}");
        }
        if src.state != NodeState::Plain {
            w!(title, " ({})", src.state.word());
        }
        let rx = if matches!(src.state, NodeState::Start | NodeState::End) { nd.height / 2.0 } else { 6.0 };
        let cx = nd.x + nd.width / 2.0;
        let mut el = format!(
            "<g class=\"node {}\"><title>{}</title><rect class=\"node-box\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{}\"/>",
            src.state.class(),
            esc(&title),
            num(nd.x),
            num(nd.y),
            num(nd.width),
            num(nd.height),
            num(rx)
        );
        let label_y = if nd.detail.is_some() { nd.y + 16.0 } else { nd.y + nd.height / 2.0 };
        w!(
            el,
            "<text class=\"node-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" dy=\"0.35em\">{}</text>",
            num(cx),
            num(label_y),
            esc(&nd.label)
        );
        if let Some(detail) = &nd.detail {
            w!(
                el,
                "<text class=\"node-detail\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" dy=\"0.35em\">{}</text>",
                num(cx),
                num(nd.y + 32.0),
                esc(detail)
            );
        }
        el.push_str("</g>");
        match src.href.as_deref().and_then(safe_href) {
            Some(href) => w!(body, "<a class=\"node-link\" href=\"{href}\">{el}</a>"),
            None => body.push_str(&el),
        }
    }
    body.push_str("</g>");

    // The description: counts, states, then the nodes and edges in words.
    let layers = lay.nodes.iter().map(|nd| nd.layer + 1).max().unwrap_or(0);
    let backs = lay.edges.iter().filter(|e| e.back && e.from != e.to).count();
    let selfs = lay.edges.iter().filter(|e| e.from == e.to).count();
    let mut desc = format!(
        "Directed graph of {} and {}, drawn left to right in {}.",
        plural(lay.nodes.len() as u64, "node", "nodes"),
        plural(lay.edges.len() as u64, "edge", "edges"),
        plural(layers as u64, "layer", "layers")
    );
    if backs > 0 {
        w!(desc, " {} back against the flow (cycles).", plural(backs as u64, "edge leads", "edges lead"));
    }
    if selfs > 0 {
        w!(desc, " {} a node to itself.", plural(selfs as u64, "edge leads from", "edges lead from"));
    }
    let mut counts: Vec<(NodeState, usize)> = Vec::new();
    for nd in &lay.nodes {
        let s = g.nodes[nd.index].state;
        match counts.iter_mut().find(|(k, _)| *k == s) {
            Some((_, c)) => *c += 1,
            None => counts.push((s, 1)),
        }
    }
    let states: Vec<String> =
        counts.iter().filter(|(s, _)| *s != NodeState::Plain).map(|(s, c)| format!("{c} {}", s.word())).collect();
    if !states.is_empty() {
        w!(desc, " States: {}.", states.join(", "));
    }
    if lay.omitted_nodes > 0 {
        w!(
            desc,
            " Only the first {MAX_NODES} of {} nodes are shown; edges to the others are left out.",
            MAX_NODES + lay.omitted_nodes
        );
    }
    if lay.duplicate_nodes > 0 {
        w!(
            desc,
            " {} ignored.",
            plural(lay.duplicate_nodes as u64, "node with a repeated id was", "nodes with repeated ids were")
        );
    }
    let unknown = lay.ignored_edges;
    if unknown > 0 && lay.omitted_nodes == 0 {
        w!(
            desc,
            " {} not shown.",
            plural(unknown as u64, "edge naming an unknown node is", "edges naming unknown nodes are")
        );
    }
    let node_words: Vec<String> = lay
        .nodes
        .iter()
        .map(|nd| {
            let src = &g.nodes[nd.index];
            let mut s = node_name(src);
            if let Some(d) = src.detail.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
                w!(s, ", {d}");
            }
            if src.state != NodeState::Plain {
                w!(s, " ({})", src.state.word());
            }
            s
        })
        .collect();
    w!(desc, " Nodes: {}.", list_words(&node_words));
    if !lay.edges.is_empty() {
        let edge_words: Vec<String> = lay.edges.iter().map(edge_title).collect();
        w!(desc, " Edges: {}.", list_words(&edge_words));
    }
    frame("graph", &g.title, &desc, lay.view, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::svg::tests::{assert_well_formed, count, edge, graph_of, node};

    /// A graph with every feature of the layout: start and end nodes, details, a duplicate id, an
    /// unknown edge, long edges through dummy columns (forward and back), a labelled self-loop,
    /// labels on several edges and unequal weights.
    fn everything() -> Graph {
        let mut g = graph_of(
            &["start", "triage", "fix", "review", "deploy", "done", "triage", "orphan"],
            &[
                ("start", "triage"),
                ("triage", "fix"),
                ("triage", "review"),
                ("fix", "review"),
                ("review", "fix"),
                ("review", "deploy"),
                ("deploy", "done"),
                ("triage", "done"),
                ("done", "triage"),
                ("review", "review"),
                ("fix", "nowhere"),
            ],
        );
        g.nodes[0].state = NodeState::Start;
        g.nodes[5].state = NodeState::End;
        g.nodes[2].detail = Some("2 open · 3h 20m".into());
        g.nodes[3].label = "Review the change with a long name".into();
        for (i, e) in g.edges.iter_mut().enumerate() {
            e.weight = (i * 7 % 5) as f64 + 1.0;
            if i % 3 == 1 {
                e.label = Some(format!("{} cases", i * 11));
            }
        }
        g
    }

    /// The drawing is pinned to the byte (`graph_golden.svg`): a change of the layout shows here
    /// first. Regenerate the file only for an intended change.
    #[test]
    fn the_drawing_is_the_one_pinned() {
        let svg = graph(&everything());
        assert_well_formed(&svg);
        assert_eq!(svg, include_str!("graph_golden.svg"));
    }

    #[test]
    fn diamond_is_layered_0_1_1_2() {
        let g = graph_of(&["a", "b", "c", "d"], &[("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]);
        let lay = layout(&g);
        let layers: Vec<usize> = lay.nodes.iter().map(|n| n.layer).collect();
        assert_eq!(layers, vec![0, 1, 1, 2]);
        assert!(lay.edges.iter().all(|e| !e.back));
        // b and c share a column, one above the other; columns go left to right.
        let (a, b, c, d) = (&lay.nodes[0], &lay.nodes[1], &lay.nodes[2], &lay.nodes[3]);
        assert!((b.x + b.width / 2.0 - (c.x + c.width / 2.0)).abs() < 1e-9);
        assert!(a.x + a.width < b.x && b.x + b.width < d.x);
        assert!(b.y + b.height <= c.y || c.y + c.height <= b.y);
        // a and d sit centred between b and c.
        let mid = |n: &LaidNode| n.y + n.height / 2.0;
        assert!((mid(a) - (mid(b) + mid(c)) / 2.0).abs() < 1.0);
        assert!((mid(d) - mid(a)).abs() < 1.0);
    }

    #[test]
    fn arrows_end_at_the_node_border() {
        let g = graph_of(&["a", "b"], &[("a", "b")]);
        let lay = layout(&g);
        let path = &lay.edges[0].path;
        let end = path.rsplit(' ').next().unwrap_or("");
        let (x, y) = end.split_once(',').unwrap_or(("", ""));
        let (x, y): (f64, f64) = (x.parse().unwrap_or(f64::NAN), y.parse().unwrap_or(f64::NAN));
        let b = &lay.nodes[1];
        let (len, _) = arrow_size(lay.edges[0].arrow);
        assert!((x + len - b.x).abs() < 0.11, "{path} vs {b:?}");
        assert!((y - (b.y + b.height / 2.0)).abs() < 0.11);
        assert!(path.starts_with(&format!("M{},", num(lay.nodes[0].x + lay.nodes[0].width))));
    }

    #[test]
    fn cycles_and_self_loops_still_lay_out() {
        let g = graph_of(&["a", "b"], &[("a", "b"), ("b", "a"), ("b", "b")]);
        let lay = layout(&g);
        assert_eq!(lay.nodes.len(), 2);
        assert_eq!(lay.nodes.iter().map(|n| n.layer).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(lay.edges.len(), 3);
        assert!(!lay.edges[0].back);
        assert!(lay.edges[1].back && lay.edges[1].from == 1 && lay.edges[1].to == 0);
        assert!(lay.edges[2].from == 1 && lay.edges[2].to == 1);
        // The back edge dips below the forward one.
        assert_ne!(lay.edges[0].path, lay.edges[1].path);
        let svg = graph(&g);
        assert_well_formed(&svg);
        assert_eq!(count(&svg, "class=\"edge edge-back\""), 1);
        assert_eq!(count(&svg, "class=\"edge edge-self\""), 1);
        assert!(svg.contains("1 edge leads back against the flow (cycles)."));

        let ring = graph_of(&["a", "b", "c"], &[("a", "b"), ("b", "c"), ("c", "a")]);
        let lay = layout(&ring);
        assert_eq!(lay.nodes.iter().map(|n| n.layer).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(lay.edges.iter().filter(|e| e.back).count(), 1);
    }

    #[test]
    fn nodes_in_a_layer_never_overlap() {
        let ids: Vec<String> = (0..30).map(|i| format!("n{i}")).collect();
        let mut edges = Vec::new();
        for i in 0..30usize {
            edges.push(Edge {
                from: ids[i].clone(),
                to: ids[(i * 7 + 3) % 30].clone(),
                label: Some(format!("{i} · 1 h")),
                weight: i as f64,
            });
            edges.push(Edge { from: ids[i].clone(), to: ids[(i + 1) % 30].clone(), label: None, weight: 1.0 });
            edges.push(Edge { from: ids[i].clone(), to: ids[i].clone(), label: Some("loop".into()), weight: 2.0 });
        }
        let g = Graph {
            title: "DFG".into(),
            nodes: ids.iter().map(|id| Node { detail: Some("12 cases".into()), ..node(id) }).collect(),
            edges,
        };
        let lay = layout(&g);
        assert_eq!(lay.nodes.len(), 30);
        for (i, a) in lay.nodes.iter().enumerate() {
            for b in &lay.nodes[i + 1..] {
                let apart_y = a.y + a.height <= b.y || b.y + b.height <= a.y;
                let apart_x = a.x + a.width <= b.x || b.x + b.width <= a.x;
                assert!(apart_x || apart_y, "{a:?} overlaps {b:?}");
                if a.layer == b.layer {
                    assert!(apart_y);
                }
            }
        }
        // Labels do not overlap nodes.
        for e in &lay.edges {
            if let Some(l) = &e.label {
                for n in &lay.nodes {
                    let apart = l.x + l.w <= n.x || n.x + n.width <= l.x || l.y + l.h <= n.y || n.y + n.height <= l.y;
                    assert!(apart, "label {l:?} over node {n:?}");
                }
            }
        }
        let svg = graph(&g);
        assert_well_formed(&svg);
        assert_eq!(svg, graph(&g));
    }

    #[test]
    fn barycenter_sweeps_remove_crossings() {
        let g = graph_of(&["a", "b", "c", "d"], &[("a", "d"), ("b", "c")]);
        let lay = layout(&g);
        let (a, b, c, d) = (&lay.nodes[0], &lay.nodes[1], &lay.nodes[2], &lay.nodes[3]);
        assert_eq!((a.layer, b.layer, c.layer, d.layer), (0, 0, 1, 1));
        assert!(a.y < b.y);
        assert!(d.y < c.y, "edges a→d and b→c should not cross");
    }

    #[test]
    fn unknown_edges_duplicates_and_the_node_cap() {
        let mut g = graph_of(&["a", "b", "a"], &[("a", "b"), ("a", "ghost"), ("ghost", "b")]);
        let lay = layout(&g);
        assert_eq!(lay.nodes.len(), 2);
        assert_eq!(lay.duplicate_nodes, 1);
        assert_eq!(lay.ignored_edges, 2);
        assert_eq!(lay.edges.len(), 1);
        let svg = graph(&g);
        assert!(svg.contains("2 edges naming unknown nodes are not shown."));
        assert!(svg.contains("1 node with a repeated id was ignored."));

        g.nodes = (0..75).map(|i| node(&format!("n{i}"))).collect();
        g.edges = (0..74).map(|i| edge(&format!("n{i}"), &format!("n{}", i + 1))).collect();
        let lay = layout(&g);
        assert_eq!(lay.nodes.len(), 60);
        assert_eq!(lay.omitted_nodes, 15);
        assert_eq!(lay.nodes.last().map(|n| n.layer), Some(59));
        assert_eq!(lay.edges.len(), 59);
        let svg = graph(&g);
        assert_well_formed(&svg);
        assert!(svg.contains("Only the first 60 of 75 nodes are shown"));
    }
}
