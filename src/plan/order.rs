//! Ordering configs into a cheap tour from the baseline: the graph of applies (nodes configs,
//! edges the predicted cost of applying one after the other) in petgraph, a tour read off its
//! minimum spanning tree (the double-tree heuristic on the symmetrised costs), then Or-opt
//! relocations on the real, asymmetric costs.

use petgraph::Undirected;
use petgraph::algo::min_spanning_tree;
use petgraph::data::FromElements;
use petgraph::graph::{Graph, NodeIndex};
use petgraph::visit::Dfs;

use super::search::Pricer;

/// Orders `rows` into a tour starting at `rows[start]`; returns row indices, `start` first.
pub(crate) fn tour(rows: &[Vec<u16>], start: usize, pricer: &mut dyn Pricer) -> Vec<usize> {
    let n = rows.len();
    if n <= 2 {
        let mut out = vec![start];
        out.extend((0..n).filter(|&i| i != start));
        return out;
    }
    let cost: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| pricer.cost(&rows[i], &rows[j])).collect())
        .collect();
    let mut graph: Graph<usize, f64, Undirected> = Graph::new_undirected();
    let nodes: Vec<NodeIndex> = (0..n).map(|i| graph.add_node(i)).collect();
    for i in 0..n {
        for j in i + 1..n {
            // One unit per differing axis keeps zero-cost models ordered by similarity.
            let hamming = rows[i].iter().zip(&rows[j]).filter(|(a, b)| a != b).count();
            graph.add_edge(
                nodes[i],
                nodes[j],
                (cost[i][j] + cost[j][i]) / 2.0 + hamming as f64 * 1e-3,
            );
        }
    }
    let mst: Graph<usize, f64, Undirected> = Graph::from_elements(min_spanning_tree(&graph));
    let mut order = Vec::with_capacity(n);
    let mut dfs = Dfs::new(&mst, NodeIndex::new(start));
    while let Some(node) = dfs.next(&mst) {
        order.push(mst[node]);
    }
    // The MST is spanning, but stay safe if a weight was not comparable.
    for i in 0..n {
        if !order.contains(&i) {
            order.push(i);
        }
    }
    or_opt(&mut order, &cost);
    order
}

fn tour_cost(order: &[usize], cost: &[Vec<f64>]) -> f64 {
    (0..order.len())
        .map(|i| cost[order[i]][order[(i + 1) % order.len()]])
        .sum()
}

/// Moves single configs to a better place while that lowers the tour cost (first improvement,
/// a bounded number of passes). Position 0 (the baseline) stays put.
fn or_opt(order: &mut Vec<usize>, cost: &[Vec<f64>]) {
    let n = order.len();
    // Cubic per pass: beyond a few dozen configs the search phase does the fine ordering.
    if n > 60 {
        return;
    }
    let mut best = tour_cost(order, cost);
    for _pass in 0..20 {
        let mut improved = false;
        for p in 1..n {
            for q in 1..n {
                if p == q {
                    continue;
                }
                let x = order.remove(p);
                order.insert(q, x);
                let c = tour_cost(order, cost);
                if c + 1e-9 < best {
                    best = c;
                    improved = true;
                } else {
                    let x = order.remove(q);
                    order.insert(p, x);
                }
            }
        }
        if !improved {
            break;
        }
    }
}
