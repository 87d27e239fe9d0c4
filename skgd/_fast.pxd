# Declarations of the compiled kernel (skgd/_fast.pyx).
#
# The integer codes of the built-in components are defined here, once: the
# kernel switches on them, and Python sees each enumeration as a class of the
# extension module (skgd._fast.LossCode...). A built-in component names its
# member in its class attribute ``_kernel`` (skgd._component.KernelSpec).
#
# The structs are the kernel's arguments: the data, the components, the model
# and the buffers of an epoch. Arrays of the data's floating type are held as
# ``void *``; each kernel function is specialised for float32 or float64 by a
# typed pointer to the weights among its arguments, and reads them as that type.


cpdef enum LossCode:
    HINGE = 0
    SQUARED_HINGE = 1
    LOG = 2
    MODIFIED_HUBER = 3
    SQUARED_ERROR = 4
    HUBER = 5
    EPSILON_INSENSITIVE = 6
    SQUARED_EPSILON_INSENSITIVE = 7
    # Codes from here on are multiclass losses.
    SOFTMAX = 8
    MULTICLASS_HINGE = 9

cpdef enum PenaltyCode:
    MIXTURE = 0  # l2 / 2 * |W|^2 + l1 * |W|_1

cpdef enum ScheduleCode:
    CONSTANT = 0  # p[0]: the rate
    OPTIMAL = 1  # p[0]: alpha, p[1]: t0
    INVSCALING = 2  # p[0]: eta0, p[1]: power_t
    PASSIVE_AGGRESSIVE = 3  # p[0]: C, p[1]: variant (1 or 2)

cpdef enum OptimizerCode:
    SGD = 0
    MOMENTUM = 1  # p[0]: momentum
    NESTEROV = 2  # p[0]: momentum
    # Codes from here on scale their steps per coordinate.
    ADAGRAD = 3  # p[0]: epsilon
    RMSPROP = 4  # p[0]: rho, p[1]: epsilon
    ADAM = 5  # p[0]: beta_1, p[1]: beta_2, p[2]: epsilon
    # Takes the penalty itself; its weights are a function of its state.
    FTRL = 6  # p[0]: beta


cdef struct Rows:
    # The rows of X. Dense: ``values`` is the address of X[0, 0], rows are
    # ``ld`` and columns ``inc`` elements apart. CSR: X's data, indices and
    # indptr (64-bit indices if ``wide``, else 32-bit).
    const void *values
    const void *indices
    const void *indptr
    Py_ssize_t n_cols
    Py_ssize_t ld
    Py_ssize_t inc
    bint sparse
    bint wide


cdef struct Targets:
    const Py_ssize_t *y_idx  # class index of each row
    const void *row_scale  # n * w_i / sum(w): a row's factor in an unbiased step
    const void *weight  # w_i, for the objective


cdef struct LossSpec:
    int code
    double param  # threshold, epsilon or margin
    Py_ssize_t pinned  # 1: two classes, one row of weights; class 0's score is 0
    # Margin losses: the class of the first output (the target of output c is
    # +1 for rows of class first_class + c): 1 for two classes, else the first
    # of the one-vs-rest outputs this call trains.
    Py_ssize_t first_class


cdef struct PenaltySpec:
    double l2  # alpha * l2_weight
    double l1  # alpha * l1_weight


cdef struct ScheduleSpec:
    int code
    double p[2]


cdef struct OptimizerSpec:
    int code
    double p[3]


cdef struct Components:
    LossSpec loss
    PenaltySpec penalty
    ScheduleSpec schedule
    OptimizerSpec optimizer


cdef struct Model:
    # The weights W (coef, ``w0``/``w1`` elements between outputs/features:
    # row- or column-major) and intercept ``b``; optional companions (NULL
    # when unused): the averages, the L1 truncation paid per coordinate ``Q``
    # (laid out like W), the optimizer's state for W and b (C order) and the
    # L1 truncation owed per coordinate ``u`` (adaptive rules).
    void *W
    Py_ssize_t w0
    Py_ssize_t w1
    void *b
    void *avg_W
    void *avg_b
    void *Q
    Py_ssize_t q0
    Py_ssize_t q1
    void *s1
    void *s2
    void *s1_b
    void *s2_b
    void *u
    Py_ssize_t n_out
    Py_ssize_t n_features
    bint fit_intercept
    # The factor on the intercept's steps (row by row: SGDClassifier's 0.01
    # on sparse rows, else 1).
    double intercept_decay
    Py_ssize_t average  # averaging from update `average` on (0: never)
    double t  # the schedule clock
    double l1_u  # L1 truncation owed so far (one for all coordinates)
    double count  # Adam's and FTRL's step count
    double rate  # FTRL: the rate of the step that made its weights
    # Plain SGD keeps the weights as wscale * W, with the squared and
    # absolute norms of W per output (for the penalty's value).
    double wscale
    double *vsq
    double *vabs


cdef struct Sums:
    double *data  # per output: sum of w_i * loss_i
    double *penalty  # per output: sum over steps of rows * penalty


cdef struct Step:
    # What one update needs besides the gradient.
    double lr
    double inverse_lr  # 1 / lr (FTRL)
    double m_corr  # Adam's bias corrections
    double v_corr
    double kk  # 1 + updates since averaging started
    bint averaging
    Py_ssize_t size  # rows in the batch


cdef struct Lazy:
    # CSR rows under rules other than plain SGD (skgd/_lazy.py): each column
    # is current to the step in its record; ``P[t]`` is the product of
    # the L2 decays of steps before t, ``R[t]`` its reciprocal and ``F[t]``
    # the sum of their rates over P, since the last fold; ``powers[k]`` the
    # momentum (RMSProp's rho) to the power k and ``movement[k]`` the factor
    # on the velocity of k zero-gradient steps' movement.
    char *records  # per column: its last step (an int), weights and state
    Py_ssize_t record_bytes
    Py_ssize_t slots  # optimizer state values per weight
    Py_ssize_t q0  # elements from one output's weight to the next's in a record
    Py_ssize_t q1  # elements from one record to the next
    double *P
    double *R
    double *F
    const double *powers
    const double *movement
    Py_ssize_t n_table  # entries of the tables read: beyond, they stay put
    Py_ssize_t t  # the step of the call
    bint single  # batches of one row: steps straight from the row
    double v_corr  # Adam's bias correction of the step
    double count  # FTRL: the step count its weights are caught up to
    double inverse_rate  # FTRL: 1 / the rate of its weights


cdef struct Buffers:
    # Per row: scores (one slot more for a pinned class), score gradients,
    # per-output losses, dot products with W, steps, and the steps on the
    # stored weights (steps / wscale: ``moves``); per batch: the
    # intercept's gradient and the data gradient ``G`` (X's type, laid out
    # like W). CSR batches mark the columns they touch (``touched``, listed
    # in ``cols``); plain SGD without L1 keeps each row's scaled score
    # gradients ``Gs`` and replays its rows at the step instead.
    double *scores
    double *grads
    double *losses
    double *dots
    double *steps
    double *moves
    double *grad_b
    void *G
    Py_ssize_t g0
    Py_ssize_t g1
    unsigned char *touched
    Py_ssize_t *cols
    Py_ssize_t n_cols
    double *Gs
    Lazy *lazy  # the lazy rule's bookkeeping (CSR rows), or NULL
    bint scaled  # weights kept as wscale * W (plain SGD on CSR rows)
    bint replay


cdef struct Lanes:
    # Dense batches: blocks of ``block_rows`` rows dealt to LANES lanes, each
    # with its own copy of a piece of the block's rows ``Xb``, the piece's
    # scores ``Z`` and score gradients ``G``,
    # data gradient ``GR`` (X's type) and ``doubles``: its intercept
    # gradient, loss sums (n_out each), one row's scores and gradients
    # (n_out + 1 each). ``*_step``: elements from one lane's buffer to the
    # next, whole cache lines apart (lanes that run in two threads would
    # otherwise write to the same lines).
    void *Xb
    void *Z
    void *G
    void *GR
    Py_ssize_t xb_step
    Py_ssize_t z_step
    Py_ssize_t gr_step
    double *doubles
    Py_ssize_t doubles_step
    Py_ssize_t block_rows
    Py_ssize_t piece_rows  # rows of a block copied to Xb at once
    Py_ssize_t xb_ld  # elements from one row of Xb (of Wp, of GR) to the next
    void *Wp  # the weights of a step, rows xb_ld apart, zeros past n_features
    int n_threads
