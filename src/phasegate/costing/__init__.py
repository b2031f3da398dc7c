"""Unit-cost roll-up, learning curves, tooling amortisation. Pure.

``bom`` prices a revision's BOM at a volume and compares material issued with it; ``learning``
fits Wright's learning curve; ``unit_cost`` rolls a build's costs up to its cost per unit and
per good unit, projects it to a volume and lays it out as a waterfall against the target.
"""

from phasegate.costing.bom import (
    BomLine,
    MaterialLine,
    MaterialRollUp,
    MaterialVariance,
    PartVariance,
    PriceBreak,
    material_variance,
    roll_up_material,
)
from phasegate.costing.learning import LearningCurve, fit_learning_curve
from phasegate.costing.unit_cost import (
    Projection,
    StationLabor,
    Tooling,
    UnitCost,
    WaterfallStep,
    project,
    roll_up,
    waterfall,
)

__all__ = [
    "BomLine",
    "LearningCurve",
    "MaterialLine",
    "MaterialRollUp",
    "MaterialVariance",
    "PartVariance",
    "PriceBreak",
    "Projection",
    "StationLabor",
    "Tooling",
    "UnitCost",
    "WaterfallStep",
    "fit_learning_curve",
    "material_variance",
    "project",
    "roll_up",
    "roll_up_material",
    "waterfall",
]
