//! Test-only in-memory `Graph` (used by the unit tests and, through `#[path]`, by the RF2
//! integration test).
#![allow(dead_code)]

use std::collections::HashMap;

use super::graph::*;

#[derive(Default)]
pub struct MemGraph {
    ids: Vec<u64>,
    index: HashMap<u64, Cid>,
    active: Vec<bool>,
    module: Vec<u64>,
    et: Vec<u32>,
    primitive: Vec<bool>,
    parents: Vec<Vec<Cid>>,
    children: Vec<Vec<Cid>>,
    rels: Vec<Vec<Relationship>>,
    inbound: Vec<Vec<Inbound>>,
    descs: Vec<Vec<Description>>,
    refsets: Vec<Cid>,
    members: HashMap<Cid, Vec<Member>>,
    assoc: Vec<Vec<(Cid, Cid)>>,
}

/// Appends partition `00` and the Verhoeff check digit to `item`.
pub fn make_sctid(item: u64) -> u64 {
    let base = format!("{}00", item);
    for d in 0..10 {
        let s = format!("{}{}", base, d);
        if super::parse::verhoeff_ok(&s) {
            return s.parse().unwrap();
        }
    }
    unreachable!()
}

impl MemGraph {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_concept(&mut self, id: u64, active: bool, primitive: bool) -> Cid {
        if let Some(&c) = self.index.get(&id) {
            self.active[c as usize] = active;
            self.primitive[c as usize] = primitive;
            return c;
        }
        let c = self.ids.len() as Cid;
        self.ids.push(id);
        self.index.insert(id, c);
        self.active.push(active);
        self.module.push(900000000000207008);
        self.et.push(20200131);
        self.primitive.push(primitive);
        self.parents.push(Vec::new());
        self.children.push(Vec::new());
        self.rels.push(Vec::new());
        self.inbound.push(Vec::new());
        self.descs.push(Vec::new());
        self.assoc.push(Vec::new());
        c
    }

    pub fn cid(&mut self, id: u64) -> Cid {
        match self.index.get(&id) {
            Some(&c) => c,
            None => self.add_concept(id, true, true),
        }
    }

    pub fn set_meta(&mut self, id: u64, module: u64, et: u32) {
        let c = self.cid(id) as usize;
        self.module[c] = module;
        self.et[c] = et;
    }

    pub fn is_a(&mut self, child: u64, parent: u64) {
        let (c, p) = (self.cid(child), self.cid(parent));
        self.parents[c as usize].push(p);
    }

    pub fn rel(&mut self, src: u64, type_id: u64, group: u16, dest: u64) {
        let (s, t, d) = (self.cid(src), self.cid(type_id), self.cid(dest));
        self.rels[s as usize].push(Relationship {
            type_id: t,
            group,
            target: Target::Concept(d),
        });
    }

    pub fn concrete(&mut self, src: u64, type_id: u64, group: u16, value: Concrete) {
        let (s, t) = (self.cid(src), self.cid(type_id));
        self.rels[s as usize].push(Relationship {
            type_id: t,
            group,
            target: Target::Concrete(value),
        });
    }

    pub fn desc(&mut self, concept: u64, d: Description) {
        let c = self.cid(concept);
        self.descs[c as usize].push(d);
    }

    pub fn member(&mut self, refset: u64, m: Member) {
        let r = self.cid(refset);
        self.members.entry(r).or_default().push(m);
    }

    pub fn simple_member(&mut self, refset: u64, referenced: u64, active: bool) {
        let rc = self.cid(referenced);
        self.member(
            refset,
            Member {
                active,
                module: 900000000000207008,
                effective_time: 20200131,
                referenced: Some(rc),
                referenced_id: referenced,
                fields: Vec::new(),
            },
        );
    }

    /// Sorts and derives children, inbound, refsets and historical associations.
    pub fn finish(&mut self) {
        let n = self.ids.len();
        for c in 0..n {
            self.parents[c].sort_unstable();
            self.parents[c].dedup();
            self.children[c].clear();
            self.inbound[c].clear();
            self.assoc[c].clear();
        }
        for c in 0..n {
            for i in 0..self.parents[c].len() {
                let p = self.parents[c][i];
                self.children[p as usize].push(c as Cid);
            }
            self.rels[c].sort_by_key(|r| (r.group, r.type_id));
            for r in &self.rels[c] {
                if let Target::Concept(d) = r.target {
                    self.inbound[d as usize].push(Inbound {
                        source: c as Cid,
                        type_id: r.type_id,
                        group: r.group,
                    });
                }
            }
        }
        for c in 0..n {
            self.children[c].sort_unstable();
        }
        let mut refsets: Vec<Cid> = self.members.keys().copied().collect();
        refsets.sort_unstable();
        self.refsets = refsets;
        let assoc_ids = [
            ids::SAME_AS,
            ids::REPLACED_BY,
            ids::WAS_A,
            ids::POSSIBLY_EQUIVALENT_TO,
            ids::PARTIALLY_EQUIVALENT_TO,
            ids::POSSIBLY_REPLACED_BY,
            ids::MOVED_TO,
            ids::ALTERNATIVE,
            ids::REFERS_TO,
        ];
        for (r, rows) in &self.members {
            if !assoc_ids.contains(&self.ids[*r as usize]) {
                continue;
            }
            for m in rows.iter().filter(|m| m.active) {
                let Some(src) = m.referenced else { continue };
                for (k, v) in &m.fields {
                    if &**k == "targetComponentId" {
                        if let FieldValue::Id(t) = v {
                            if let Some(&tc) = self.index.get(t) {
                                self.assoc[tc as usize].push((src, *r));
                            }
                        }
                    }
                }
            }
        }
    }
}

impl Graph for MemGraph {
    fn concept_count(&self) -> usize {
        self.ids.len()
    }
    fn concept(&self, sctid: u64) -> Option<Cid> {
        self.index.get(&sctid).copied()
    }
    fn sctid(&self, c: Cid) -> u64 {
        self.ids[c as usize]
    }
    fn is_active(&self, c: Cid) -> bool {
        self.active[c as usize]
    }
    fn module(&self, c: Cid) -> u64 {
        self.module[c as usize]
    }
    fn effective_time(&self, c: Cid) -> u32 {
        self.et[c as usize]
    }
    fn is_primitive(&self, c: Cid) -> bool {
        self.primitive[c as usize]
    }
    fn parents(&self, c: Cid) -> &[Cid] {
        &self.parents[c as usize]
    }
    fn children(&self, c: Cid) -> &[Cid] {
        &self.children[c as usize]
    }
    fn relationships(&self, c: Cid) -> &[Relationship] {
        &self.rels[c as usize]
    }
    fn inbound(&self, c: Cid) -> &[Inbound] {
        &self.inbound[c as usize]
    }
    fn descriptions(&self, c: Cid) -> &[Description] {
        &self.descs[c as usize]
    }
    fn refsets(&self) -> &[Cid] {
        &self.refsets
    }
    fn members(&self, refset: Cid) -> Option<&[Member]> {
        self.members.get(&refset).map(|v| v.as_slice())
    }
    fn associations_into(&self, c: Cid) -> &[(Cid, Cid)] {
        &self.assoc[c as usize]
    }
}
