//! The release set as a graph: services in plan file order, `needs` edges between them,
//! topological order, waves and upstream/downstream closures.
//!
//! File order is the tie-breaker everywhere, so every answer is deterministic: the
//! topological order is the one that always takes the ready service that comes first in the
//! file, and each wave lists its services in file order.

use std::collections::{BTreeMap, BTreeSet};

/// Why a set of services does not form a usable graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("service `{0}` is listed twice")]
    Duplicate(String),
    #[error("service `{service}` needs `{need}`, which is not in the graph")]
    UnknownNeed { service: String, need: String },
    #[error("needs form a cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
}

/// An acyclic graph of services. Indices are positions in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    names: Vec<String>,
    index: BTreeMap<String, usize>,
    /// For each node, the nodes it needs (ascending, no duplicates).
    needs: Vec<Vec<usize>>,
    /// For each node, the nodes that need it (ascending).
    dependents: Vec<Vec<usize>>,
    /// Topological order with the file-order tie-break.
    topo: Vec<usize>,
    /// For each node, its wave (0-based): 0 without needs, else one more than its deepest need.
    wave: Vec<usize>,
}

impl Graph {
    /// Builds the graph from `(name, needs)` pairs in file order. Every need must name a node:
    /// the caller removes needs on services outside the release set (the registry satisfies
    /// them). Cycles are reported, naming one of them.
    pub fn new<S, N>(nodes: impl IntoIterator<Item = (S, N)>) -> Result<Self, GraphError>
    where
        S: Into<String>,
        N: IntoIterator,
        N::Item: Into<String>,
    {
        let mut names = Vec::new();
        let mut raw_needs: Vec<Vec<String>> = Vec::new();
        let mut index = BTreeMap::new();
        for (name, needs) in nodes {
            let name: String = name.into();
            if index.insert(name.clone(), names.len()).is_some() {
                return Err(GraphError::Duplicate(name));
            }
            names.push(name);
            raw_needs.push(needs.into_iter().map(Into::into).collect());
        }
        let mut needs = Vec::with_capacity(names.len());
        for (i, raw) in raw_needs.into_iter().enumerate() {
            let mut resolved = BTreeSet::new();
            for need in raw {
                let Some(&j) = index.get(&need) else {
                    return Err(GraphError::UnknownNeed {
                        service: names[i].clone(),
                        need,
                    });
                };
                resolved.insert(j);
            }
            needs.push(resolved.into_iter().collect::<Vec<_>>());
        }
        let mut dependents = vec![Vec::new(); names.len()];
        for (i, node_needs) in needs.iter().enumerate() {
            for &j in node_needs {
                dependents[j].push(i);
            }
        }
        let topo = topological(&needs, &dependents)
            .ok_or_else(|| GraphError::Cycle(find_cycle(&names, &needs)))?;
        let mut wave = vec![0; names.len()];
        for &i in &topo {
            wave[i] = needs[i].iter().map(|&j| wave[j] + 1).max().unwrap_or(0);
        }
        Ok(Graph {
            names,
            index,
            needs,
            dependents,
            topo,
            wave,
        })
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Service names in file order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The services `name` needs, in file order.
    pub fn needs_of(&self, name: &str) -> Option<Vec<String>> {
        let i = self.index_of(name)?;
        Some(self.to_names(&self.needs[i]))
    }

    /// The 0-based wave of a service: 0 without needs, else one more than its deepest need.
    pub fn wave_of(&self, name: &str) -> Option<usize> {
        self.index_of(name).map(|i| self.wave[i])
    }

    /// Services grouped by wave; a wave only needs services of earlier waves.
    pub fn waves(&self) -> Vec<Vec<String>> {
        let count = self.wave.iter().max().map_or(0, |w| w + 1);
        let mut waves = vec![Vec::new(); count];
        for (i, &w) in self.wave.iter().enumerate() {
            waves[w].push(self.names[i].clone());
        }
        waves
    }

    /// The order `sequential` deploys in: at each step the ready service first in the file.
    pub fn topological_order(&self) -> Vec<String> {
        self.to_names(&self.topo)
    }

    /// The given services and everything they need, transitively, in file order.
    /// Names not in the graph are ignored.
    pub fn upstream<'a>(&self, of: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let seeds = self.indices(of);
        self.to_names(&self.closure(&seeds, &self.needs))
    }

    /// The given services and everything that needs them, transitively, in file order.
    /// Names not in the graph are ignored.
    pub fn downstream<'a>(&self, of: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let seeds = self.indices(of);
        self.to_names(&self.closure(&seeds, &self.dependents))
    }

    pub(crate) fn index_of(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    pub(crate) fn name(&self, i: usize) -> &str {
        &self.names[i]
    }

    pub(crate) fn needs(&self, i: usize) -> &[usize] {
        &self.needs[i]
    }

    /// Index-based closure over `edges` (needs or dependents), seeds included, ascending.
    pub(crate) fn closure(&self, seeds: &[usize], edges: &[Vec<usize>]) -> Vec<usize> {
        let mut seen = vec![false; self.len()];
        let mut stack: Vec<usize> = seeds.to_vec();
        while let Some(i) = stack.pop() {
            if !std::mem::replace(&mut seen[i], true) {
                stack.extend(edges[i].iter().copied());
            }
        }
        (0..self.len()).filter(|&i| seen[i]).collect()
    }

    pub(crate) fn upstream_idx(&self, seeds: &[usize]) -> Vec<usize> {
        self.closure(seeds, &self.needs)
    }

    pub(crate) fn downstream_idx(&self, seeds: &[usize]) -> Vec<usize> {
        self.closure(seeds, &self.dependents)
    }

    fn indices<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Vec<usize> {
        names.into_iter().filter_map(|n| self.index_of(n)).collect()
    }

    fn to_names(&self, indices: &[usize]) -> Vec<String> {
        indices.iter().map(|&i| self.names[i].clone()).collect()
    }
}

/// Kahn's algorithm taking the smallest ready index each time; `None` when a cycle remains.
fn topological(needs: &[Vec<usize>], dependents: &[Vec<usize>]) -> Option<Vec<usize>> {
    let mut missing: Vec<usize> = needs.iter().map(Vec::len).collect();
    let mut ready: BTreeSet<usize> = (0..needs.len()).filter(|&i| missing[i] == 0).collect();
    let mut order = Vec::with_capacity(needs.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &d in &dependents[i] {
            missing[d] -= 1;
            if missing[d] == 0 {
                ready.insert(d);
            }
        }
    }
    (order.len() == needs.len()).then_some(order)
}

/// Names one cycle, as `a -> b -> a` where each service needs the next. Only called when
/// [`topological`] found one, so a walk along needs from a node left on a cycle finds it.
fn find_cycle(names: &[String], needs: &[Vec<usize>]) -> Vec<String> {
    // Nodes that can reach a cycle are exactly those never freed by Kahn's algorithm; walking
    // needs from the first such node stays among them and must revisit a node.
    let mut on_cycle_path = vec![true; names.len()];
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..names.len() {
            if on_cycle_path[i] && needs[i].iter().all(|&j| !on_cycle_path[j]) {
                on_cycle_path[i] = false;
                changed = true;
            }
        }
    }
    let Some(start) = on_cycle_path.iter().position(|&c| c) else {
        return Vec::new();
    };
    let mut path = vec![start];
    let mut position = BTreeMap::from([(start, 0)]);
    let mut current = start;
    loop {
        let Some(&next) = needs[current].iter().find(|&&j| on_cycle_path[j]) else {
            return Vec::new();
        };
        if let Some(&at) = position.get(&next) {
            let mut cycle: Vec<String> = path[at..].iter().map(|&i| names[i].clone()).collect();
            cycle.push(names[next].clone());
            return cycle;
        }
        position.insert(next, path.len());
        path.push(next);
        current = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> Graph {
        Graph::new([
            ("backend", vec![]),
            ("android", vec!["backend"]),
            ("ios", vec!["backend"]),
            ("web", vec!["backend"]),
            ("desktop", vec!["backend"]),
        ])
        .expect("a valid graph")
    }

    #[test]
    fn reference_plan_has_two_waves() {
        let g = reference();
        assert_eq!(
            g.waves(),
            vec![vec!["backend"], vec!["android", "ios", "web", "desktop"]]
        );
        assert_eq!(
            g.topological_order(),
            vec!["backend", "android", "ios", "web", "desktop"]
        );
        assert_eq!(g.wave_of("web"), Some(1));
        assert_eq!(g.needs_of("ios"), Some(vec!["backend".to_owned()]));
    }

    #[test]
    fn closures_include_seeds_and_follow_edges_transitively() {
        let g = Graph::new([
            ("a", vec![]),
            ("b", vec!["a"]),
            ("c", vec!["b"]),
            ("d", vec![]),
            ("e", vec!["d", "c"]),
        ])
        .expect("a valid graph");
        assert_eq!(g.upstream(["c"]), vec!["a", "b", "c"]);
        assert_eq!(g.upstream(["e"]), vec!["a", "b", "c", "d", "e"]);
        assert_eq!(g.downstream(["b"]), vec!["b", "c", "e"]);
        assert_eq!(g.downstream(["d", "unknown"]), vec!["d", "e"]);
        assert_eq!(
            g.waves(),
            vec![vec!["a", "d"], vec!["b"], vec!["c"], vec!["e"]]
        );
    }

    #[test]
    fn topological_order_prefers_file_order_over_waves() {
        // `b` is ready right after `a` and comes before `c` in the file.
        let g =
            Graph::new([("a", vec![]), ("b", vec!["a"]), ("c", vec![])]).expect("a valid graph");
        assert_eq!(g.topological_order(), vec!["a", "b", "c"]);
        assert_eq!(g.waves(), vec![vec!["a", "c"], vec!["b"]]);
    }

    #[test]
    fn duplicate_needs_collapse() {
        let g = Graph::new([("a", vec![]), ("b", vec!["a", "a"])]).expect("a valid graph");
        assert_eq!(g.needs_of("b"), Some(vec!["a".to_owned()]));
    }

    #[test]
    fn errors_are_reported_not_panicked() {
        assert_eq!(
            Graph::new([("a", Vec::<&str>::new()), ("a", vec![])]),
            Err(GraphError::Duplicate("a".into()))
        );
        assert_eq!(
            Graph::new([("a", vec!["ghost"])]),
            Err(GraphError::UnknownNeed {
                service: "a".into(),
                need: "ghost".into()
            })
        );
        let err = Graph::new([
            ("x", vec![]),
            ("a", vec!["b"]),
            ("b", vec!["c"]),
            ("c", vec!["a"]),
            ("d", vec!["a"]),
        ])
        .expect_err("a cycle");
        assert_eq!(
            err,
            GraphError::Cycle(vec!["a".into(), "b".into(), "c".into(), "a".into()])
        );
        assert_eq!(err.to_string(), "needs form a cycle: a -> b -> c -> a");
        assert_eq!(
            Graph::new([("a", vec!["a"])]),
            Err(GraphError::Cycle(vec!["a".into(), "a".into()]))
        );
    }

    #[test]
    fn empty_graph_has_no_waves() {
        let g = Graph::new(Vec::<(String, Vec<String>)>::new()).expect("a valid graph");
        assert!(g.is_empty());
        assert!(g.waves().is_empty());
    }
}
