"""
=====================================================
Chlorophyll maps from a reflectance cube, on Dask
=====================================================

Satellite ocean-colour retrievals estimate a water constituent, such as the
chlorophyll-a concentration, from the remote-sensing reflectance ``Rrs`` of
every pixel of a scene: a cube of bands that may not fit in memory. This
example

1. simulates a scene: smooth, log-normal fields of chlorophyll-a (Chl),
   suspended sediment (SPM) and coloured dissolved organic matter (CDOM),
   turned into ``Rrs`` at the visible and near-infrared bands of Sentinel-3
   OLCI by a simple bio-optical model, with clouds as NaN patches;
2. trains an :class:`~sklearn_mdn.MDNRegressor` on simulated pixel spectra
   with sensor noise, on the log scale of Chl (a
   :class:`~sklearn.compose.TransformedTargetRegressor`);
3. maps the estimate and the width of its 90% interval with
   :func:`sklearn_mdn.dask.predict_image` on a Dask ``LocalCluster``: every
   chunk of pixels is predicted on a worker, clouded pixels are skipped (NaN
   in the maps) and counted in a warning.

The bio-optical model is the quasi-analytical one of Gordon et al. (1988)
and Lee et al. (2002): ``u = bb / (a + bb)``, ``rrs = 0.0949 u + 0.0794
u**2`` below the surface and ``Rrs = 0.52 rrs / (1 - 1.7 rrs)`` above it,
with absorption ``a`` by water, phytoplankton (Bricaud et al. 1998), CDOM and
sediment, and backscattering ``bb`` by water, sediment and phytoplankton.
The coefficients are rough textbook values: enough for plausible spectra,
not for science.
"""

# %%
# A bio-optical model
# -------------------
import warnings
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
import torch
import xarray as xr
from distributed import Client, LocalCluster
from scipy.ndimage import gaussian_filter
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_mdn import MDNRegressor
from sklearn_mdn.dask import SkippedPixelsWarning, predict_image

torch.set_num_threads(1)

# OLCI band centres (nm) and, per band: pure-water absorption (1/m),
# phytoplankton absorption a_ph = A * Chl**E (Bricaud et al. 1998, rounded).
BANDS = np.array([412.5, 442.5, 490, 510, 560, 620, 665, 681.25, 708.75, 753.75])
A_WATER = np.array(
    [0.0046, 0.0071, 0.015, 0.0325, 0.0619, 0.2755, 0.429, 0.465, 0.827, 2.85]
)
A_PH = np.array(
    [0.032, 0.039, 0.028, 0.018, 0.0062, 0.0070, 0.0152, 0.0115, 0.0020, 0.0001]
)
E_PH = np.array([0.71, 0.66, 0.68, 0.72, 0.77, 0.81, 0.85, 0.86, 0.90, 0.90])


def reflectance(chl, spm, cdom):
    """Rrs (1/sr) at BANDS for concentrations of any shape (bands last).

    chl in mg/m3, spm (suspended sediment) in g/m3, cdom as absorption at
    440 nm (1/m).
    """
    chl, spm, cdom = (np.asarray(v, dtype=float)[..., None] for v in (chl, spm, cdom))
    absorption = (
        A_WATER
        + A_PH * chl**E_PH
        + cdom * np.exp(-0.018 * (BANDS - 440))
        + 0.04 * spm * np.exp(-0.0123 * (BANDS - 443))
    )
    backscattering = (
        0.00144 * (BANDS / 500) ** -4.32  # water: half its scattering
        + 0.008 * spm * (BANDS / 555) ** -0.5  # mineral particles
        + 0.002 * chl**0.62 * (550 / BANDS)  # phytoplankton
    )
    u = backscattering / (absorption + backscattering)
    rrs = 0.0949 * u + 0.0794 * u**2
    return 0.52 * rrs / (1 - 1.7 * rrs)


def add_sensor_noise(rrs, rng):
    """2% relative and 1e-4 / sr absolute noise, floored at 1e-5 / sr."""
    noisy = rrs * (1 + 0.02 * rng.normal(size=rrs.shape))
    noisy += 1e-4 * rng.normal(size=rrs.shape)
    return np.maximum(noisy, 1e-5)


fig, ax = plt.subplots(figsize=(6, 3.5))
for chl, spm, cdom in [(0.1, 0.1, 0.01), (1, 1, 0.1), (10, 5, 0.5), (50, 20, 1.0)]:
    ax.plot(BANDS, reflectance(chl, spm, cdom), "o-", label=f"Chl {chl}, SPM {spm}")
ax.set(xlabel="wavelength (nm)", ylabel="Rrs (1/sr)", title="Simulated spectra")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# A scene
# -------
# Three smooth random fields, correlated (CDOM follows phytoplankton), made
# log-normal, on a 200 x 200 grid of 300 m pixels; clouds wherever a fourth
# field is high.
rng = np.random.RandomState(0)
n_y, n_x = 200, 200


def smooth_field(sigma):
    field = gaussian_filter(rng.normal(size=(n_y, n_x)), sigma)
    return (field - field.mean()) / field.std()


f_chl, f_spm, f_cdom = smooth_field(12), smooth_field(20), smooth_field(15)
chl_true = np.exp(np.log(2.0) + 1.1 * f_chl)
spm_true = np.exp(np.log(1.5) + 0.9 * f_spm)
cdom_true = np.exp(np.log(0.1) + 0.5 * f_chl + 0.4 * f_cdom)
clouds = smooth_field(8) > 1.4

rrs = add_sensor_noise(reflectance(chl_true, spm_true, cdom_true), rng)
rrs[clouds] = np.nan
cube = xr.DataArray(
    np.moveaxis(rrs, -1, 0),
    dims=("band", "y", "x"),
    coords={"band": BANDS, "y": 300.0 * np.arange(n_y), "x": 300.0 * np.arange(n_x)},
    name="Rrs",
    attrs={"units": "1/sr"},
).chunk({"y": 50, "x": -1})
print(cube)

# %%
# A model trained on simulated spectra
# ------------------------------------
# Concentrations drawn log-uniformly over wider ranges than the scene's,
# spectra with sensor noise. Inputs are log-reflectances, the target is
# ``log10(Chl)``: the wrapper maps predictions and intervals back to mg/m3.
n_train = 8000
chl = 10 ** rng.uniform(-1.5, 2, n_train)
spm = 10 ** rng.uniform(-1.5, 1.7, n_train)
cdom = 10 ** rng.uniform(-2.5, 0.3, n_train)
X_train = add_sensor_noise(reflectance(chl, spm, cdom), rng)

model = TransformedTargetRegressor(
    make_pipeline(
        FunctionTransformer(np.log),
        MDNRegressor(
            n_components=3,
            hidden_layer_sizes=(64, 64),
            learning_rate_init=3e-3,
            max_iter=50,
            random_state=0,
        ),
    ),
    func=np.log10,
    inverse_func=partial(np.power, 10.0),
).fit(X_train, chl)

# %%
# Maps on a Dask cluster
# ----------------------
# Two workers with one thread each (in this process: the cube is small). The
# model is scattered to the workers once; each chunk of 50 rows of pixels is
# predicted where it lies.
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", SkippedPixelsWarning)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(torch.set_num_threads, 1)
        estimate = predict_image(model, cube, method="predict")
        interval = predict_image(model, cube, method="interval", coverage=0.9)
        estimate, interval = estimate.compute(), interval.compute()
print(caught[0].message)
print(interval.dims, interval.shape)

# %%
# The interval is wide where the phytoplankton signal is weak against that
# of water, sediment and CDOM (low Chl), narrow where it is strong. Its
# width is shown as the ratio of its bounds (intervals of a log-scale
# quantity are multiplicative).
lower, upper = interval.sel(bound="lower"), interval.sel(bound="upper")
ratio = upper / lower
inside = (lower <= chl_true) & (chl_true <= upper)
coverage = float(inside.where(~np.isnan(ratio)).mean())
print(f"90% intervals cover the true Chl at {coverage:.2f} of clear pixels")

log_norm = plt.matplotlib.colors.LogNorm(0.1, 50)
fig, axes = plt.subplots(2, 2, figsize=(9, 8), sharex=True, sharey=True)
panels = [
    (np.where(clouds, np.nan, chl_true), "True Chl (mg/m3)", log_norm, "viridis"),
    (estimate, "Estimated Chl (mg/m3)", log_norm, "viridis"),
    (ratio, "90% interval: upper / lower", plt.matplotlib.colors.LogNorm(), "magma"),
    (np.where(clouds, np.nan, spm_true), "Sediment (g/m3)", None, "cividis"),
]
for ax, (values, title, norm, cmap) in zip(axes.ravel(), panels):
    image = ax.imshow(np.asarray(values), norm=norm, cmap=cmap, origin="lower")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, shrink=0.8)
fig.suptitle(f"NaN (white): clouds. Interval coverage {coverage:.2f}")
fig.tight_layout()
plt.show()
