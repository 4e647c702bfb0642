"""Structural analysis of amorphous materials: pure functions returning JSON-serialisable results.

Per structure: partial_pdfs, network_analysis (coordination, defects, Qn, bond angles), shortest_distance,
ring_statistics, information_entropy / delta_entropy / overlap (QUESTS), voronoi_analysis, nbo_at_pores.
Entry points: analyze_structure (one structure, optionally vs reference glasses), compare_sets (two sets),
aggregate (mean/sd over several results). See docs/analysis.md.
"""
from amorph_core.analysis.bonds import network_analysis, shortest_distance
from amorph_core.analysis.entropy import (delta_entropy, descriptors, information_entropy, overlap,
                                          overlap_matrix, offdiagonal_mean)
from amorph_core.analysis.pdf import mean_pdf, partial_pdfs, pdf_r_factors, r_factor
from amorph_core.analysis.pores import nbo_at_pores
from amorph_core.analysis.rings import ring_statistics
from amorph_core.analysis.suite import (AnalysisCancelled, AnalysisConfig, aggregate, analyze_structure, compare_sets,
                                        parse_reference)
from amorph_core.analysis.voronoi import voronoi_analysis

__all__ = [
    "partial_pdfs", "mean_pdf", "r_factor", "pdf_r_factors", "network_analysis", "shortest_distance",
    "ring_statistics", "descriptors", "information_entropy", "delta_entropy", "overlap", "overlap_matrix",
    "offdiagonal_mean", "voronoi_analysis", "nbo_at_pores", "analyze_structure", "compare_sets", "aggregate",
    "parse_reference", "AnalysisConfig", "AnalysisCancelled",
]
