/**
 * The linear probe's λ when nothing can choose it: no validation split and a class with a single
 * training image (1 label per class with validation_fraction=0), where leave-one-out would leave that
 * class unseen. λ = RIDGE_LAMBDA_PRIOR · trace(ZᵀZ)/d, in the unit of ridge.ts's λ grid (Z the
 * class-balanced, centred features: trace(ZᵀZ)/d = n × the mean weighted feature variance), so the
 * prior does not depend on the features' scale.
 *
 * Where c comes from (bench/results/imagenet-ridge-prior.json, frozen ImageNet EfficientNet-Lite0 at
 * 160 px, Fashion-MNIST, seeds 1-3, every label training, λ by leave-one-out): at 2 labels per class,
 * where leaving an image out leaves its class with a single image as 1 label per class does, leave-one-out
 * chose 10^-5.5, 10^-5.5 and 10^-6 (relative); c is their median, 10^-5.5. At 5 labels per class it
 * chose 10^-6 once and 10^0.5 twice, from 10 on 10^0.5 to 10^1: two regimes (near-interpolation, and a
 * regularised one) with the small budgets in the first. With n = 10 images of d = 1280 features either
 * c is small next to the Gram matrix's nonzero eigenvalues (their mean is trace/(n − 1), c's unit
 * trace/d), so the solution is close to the minimum-norm interpolation of the 10 labelled images.
 * The temperature is the median leave-one-out temperature of the same three runs (5.71, 8.39, 3.37).
 */

/** c in λ = c · trace(ZᵀZ)/d: the median relative λ leave-one-out chose at 2 labels per class. */
export const RIDGE_LAMBDA_PRIOR = 10 ** -5.5;

/** The softmax temperature of the solution's scores: the median leave-one-out temperature of those runs (nothing is held out to fit it). */
export const RIDGE_TEMPERATURE_PRIOR = 5.7;
