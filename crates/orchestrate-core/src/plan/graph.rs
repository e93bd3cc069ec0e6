//! The `needs` graph as seen by validation: cycles (named in file order) and the services
//! upstream of each service. Iterative, so a huge plan cannot overflow the stack.

use std::collections::BTreeSet;

use super::diag::Span;

/// `edges[i]` are the services `i` needs, with where each need was written.
pub(crate) type Edges = Vec<Vec<(usize, Span)>>;

/// One cycle: service indices starting at the one written first in the file (the last
/// element is not repeated), and the span of that service's `needs` entry that starts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cycle {
    pub members: Vec<usize>,
    pub span: Span,
}

/// Every distinct cycle a depth-first search in file order meets (at least one per strongly
/// connected group of services).
pub(crate) fn find_cycles(edges: &Edges) -> Vec<Cycle> {
    #[derive(Clone, Copy, PartialEq)]
    enum Color {
        White,
        Gray,
        Black,
    }
    let mut color = vec![Color::White; edges.len()];
    let mut seen: BTreeSet<Vec<usize>> = BTreeSet::new();
    let mut cycles = Vec::new();
    for start in 0..edges.len() {
        if color[start] != Color::White {
            continue;
        }
        // (node, index of the next edge to follow)
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        color[start] = Color::Gray;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let Some(&(target, _)) = edges[node].get(*next) else {
                color[node] = Color::Black;
                stack.pop();
                continue;
            };
            *next += 1;
            match color[target] {
                Color::White => {
                    color[target] = Color::Gray;
                    stack.push((target, 0));
                }
                Color::Gray => {
                    let from = stack.iter().position(|(n, _)| *n == target).unwrap_or(0);
                    let path: Vec<usize> = stack[from..].iter().map(|(n, _)| *n).collect();
                    let mut key = path.clone();
                    key.sort_unstable();
                    if seen.insert(key) {
                        cycles.push(rotate(path, edges));
                    }
                }
                Color::Black => {}
            }
        }
    }
    cycles
}

fn rotate(mut path: Vec<usize>, edges: &Edges) -> Cycle {
    let first = path
        .iter()
        .enumerate()
        .min_by_key(|(_, n)| **n)
        .map(|(i, _)| i)
        .unwrap_or(0);
    path.rotate_left(first);
    let next = path.get(1).copied().unwrap_or(path[0]);
    let span = edges[path[0]]
        .iter()
        .find(|(t, _)| *t == next)
        .map(|(_, s)| *s)
        .unwrap_or_default();
    Cycle {
        members: path,
        span,
    }
}

/// The services `start` needs, directly or through others (not `start` itself unless cyclic).
pub(crate) fn upstream(edges: &Edges, start: usize) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<usize> = edges[start].iter().map(|(t, _)| *t).collect();
    while let Some(n) = todo.pop() {
        if seen.insert(n) {
            todo.extend(edges[n].iter().map(|(t, _)| *t));
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(list: &[&[usize]]) -> Edges {
        list.iter()
            .enumerate()
            .map(|(i, targets)| {
                targets
                    .iter()
                    .map(|t| (*t, Span::new(i + 1, 1, 1)))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn finds_a_cycle_starting_at_the_first_service_in_the_file() {
        // 0 needs 1? no: 2 needs 0, 0 needs 1, 1 needs 2, and 3 is outside.
        let e = edges(&[&[1], &[2], &[0], &[0]]);
        let cycles = find_cycles(&e);
        assert_eq!(
            cycles,
            vec![Cycle {
                members: vec![0, 1, 2],
                span: Span::new(1, 1, 1)
            }]
        );
    }

    #[test]
    fn self_need_is_a_cycle_and_dag_has_none() {
        assert_eq!(find_cycles(&edges(&[&[0]])).len(), 1);
        assert!(find_cycles(&edges(&[&[], &[0], &[0, 1]])).is_empty());
    }

    #[test]
    fn upstream_is_transitive() {
        let e = edges(&[&[], &[0], &[1], &[]]);
        assert_eq!(upstream(&e, 2), BTreeSet::from([0, 1]));
        assert!(upstream(&e, 3).is_empty());
    }
}
